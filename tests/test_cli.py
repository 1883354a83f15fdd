"""The command line: exit codes, one-line errors, untouched inputs, no partial outputs."""

import argparse
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from conftest import listing
from media import make_gif, make_video, pattern, read_video, video_packets

from videostyle.cli import main
from videostyle.network.transformer_net import TransformerNet


def run_cli(*args, cwd=None) -> subprocess.CompletedProcess:
    """The real console entry point, in a subprocess (exit code and stderr as a user sees them)."""
    return subprocess.run([sys.executable, "-m", "videostyle", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_run_one_video_default_output_name(tmp_path, tiny_model):
    src = tmp_path / "clip.mp4"
    facts = make_video(src, frames=5)
    result = run_cli("run", src, "--model", tiny_model, "--quiet")
    assert result.returncode == 0, result.stderr
    out = read_video(tmp_path / "clip_tiny.mp4")
    assert out.times == facts.times and out.audio_packets == facts.audio_packets


def test_encoder_threads_reaches_the_encoder(tmp_path, tiny_model):
    src = tmp_path / "clip.mp4"
    make_video(src, size=(64, 128), frames=3, audio=None)
    result = run_cli("run", src, "--model", tiny_model, "--quiet", "--encoder-threads", "1", "-o", tmp_path / "one.mp4")
    assert result.returncode == 0, result.stderr
    assert b" threads=1 " in video_packets(tmp_path / "one.mp4")[0]


def _truncated_mp4(path: Path) -> None:
    make_video(path, frames=20)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _audio_only(path: Path) -> None:
    out = av.open(str(path), "w")
    stream = out.add_stream("aac", rate=44100)
    frame = av.AudioFrame.from_ndarray(torch.zeros(1, 1024).numpy(), format="fltp", layout="mono")
    frame.sample_rate, frame.pts = 44100, 0
    for packet in [*stream.encode(frame), *stream.encode()]:
        out.mux(packet)
    out.close()


def _zero_frames(path: Path) -> None:
    out = av.open(str(path), "w")
    stream = out.add_stream("libx264", rate=25)
    stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
    out.start_encoding()  # header and trailer, no frames
    out.close()
    assert path.stat().st_size > 0


BAD_INPUTS = {
    "empty.mp4": (lambda p: p.write_bytes(b""), "empty file"),
    "text.mp4": (lambda p: p.write_text("this is not a video\n" * 20), "not a readable video"),
    "truncated.mp4": (_truncated_mp4, "not a readable video"),
    "audio_only.m4a.mp4": (_audio_only, "no video stream"),
    "zero_frames.mp4": (_zero_frames, ""),
    "broken.png": (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40), "not a readable image"),
    "broken.gif": (lambda p: p.write_bytes(b"GIF89a" + b"\1" * 30), ""),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_gets_one_line_error_and_leaves_nothing(tmp_path, tiny_model, name):
    make, reason = BAD_INPUTS[name]
    src = tmp_path / name
    make(src)
    before = digest(src)
    files_before = listing(tmp_path)
    result = run_cli("run", src, "--model", tiny_model, "--quiet")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # no traceback
    assert lines[0].startswith(f"error: {src}: ") and reason in lines[0], lines[0]
    assert digest(src) == before  # input untouched
    assert listing(tmp_path) == files_before  # no output, no partial file


def test_missing_input_is_a_one_line_error(tmp_path, tiny_model):
    result = run_cli("run", tmp_path / "nope.mp4", "--model", tiny_model)
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.mp4'}: file or folder not found"


@pytest.mark.parametrize("kind,reason", [
    ("missing", "model file not found"), ("text", "not a PyTorch weights file"),
    ("shapes", "do not fit the TransformerNet architecture"), ("code", "refusing to load")])
def test_bad_model_files_are_one_line_errors(tmp_path, kind, reason):
    src = tmp_path / "a.png"
    from PIL import Image
    Image.fromarray(pattern(0, 20, 16)).save(src)
    model = tmp_path / "model.pth"
    if kind == "text":
        model.write_text("not weights")
    elif kind == "shapes":
        state = TransformerNet().state_dict()
        state["in1.weight"] = torch.zeros(7)
        torch.save(state, model)
    elif kind == "code":
        model.write_bytes(b"\x80\x04cos\nsystem\n(S'touch " + str(tmp_path / "pwned").encode() + b"'\ntR.")
    result = run_cli("run", src, "--model", model)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {model}: ") and reason in lines[0], result.stderr
    assert not (tmp_path / "pwned").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["a.png"] + (["model.pth"] if kind != "missing" else []))


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_unwritable_output_folder(tmp_path, tiny_model):
    src = tmp_path / "a.gif"
    make_gif(src)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = run_cli("run", src, "--model", tiny_model, "-o", locked / "out.gif")
    finally:
        locked.chmod(0o700)
    assert result.returncode == 1 and "cannot write" in result.stderr


def test_output_folder_that_is_a_file_or_cannot_be_created(tmp_path, tiny_model):
    src = tmp_path / "a.gif"
    make_gif(src)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    result = run_cli("run", src, "--model", tiny_model, "-o", blocker / "sub" / "out.gif")
    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"error: {src}: ") and "cannot write in this folder" in result.stderr
    assert listing(tmp_path) == ["a.gif", "blocker"]


def test_usage_errors_exit_2(tmp_path, tiny_model):
    assert run_cli("run").returncode == 2
    assert run_cli("run", "x.mp4", "--batch-size", "0").returncode == 2
    assert run_cli("run", "x.mp4", "--device", "tpu").returncode == 2
    result = run_cli("run", "x.mp4", "--crf", "99")
    assert result.returncode == 2 and "--crf" in result.stderr
    result = run_cli("run", "x.mp4", "--encoder-threads", "0")
    assert result.returncode == 2 and "--encoder-threads" in result.stderr
    result = run_cli("run", "x.gif", "--gif-keep-levels", "300")
    assert result.returncode == 2 and "--gif-keep-levels" in result.stderr
    result = run_cli("run", "x.gif", "--gif-dither", "ordered")
    assert result.returncode == 2 and "--gif-dither" in result.stderr
    result = run_cli("finetune", "--model", "m", "--data", "d", "--out", "o.pth", "--moving-objects", "1.5")
    assert result.returncode == 2 and "--moving-objects" in result.stderr
    for radius in ("0.3,0.1", "0,0.1", "0.1", "0.1,0.6", "a,b"):
        result = run_cli("finetune", "--model", "m", "--data", "d", "--out", "o.pth", "--object-radius", radius)
        assert result.returncode == 2 and "--object-radius" in result.stderr, radius
    for option in ("--compressed-pairs", "--gif-pairs"):
        result = run_cli("finetune", "--model", "m", "--data", "d", "--out", "o.pth", option, "-0.1")
        assert result.returncode == 2 and option in result.stderr


def test_folder_run_goes_on_past_a_broken_file_and_mirrors_the_tree(tmp_path, tiny_model):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    make_video(src / "a.mp4", frames=3)
    make_gif(src / "sub" / "b.gif")
    from PIL import Image
    Image.fromarray(pattern(0, 24, 18)).save(src / "sub" / "c.jpg")
    (src / "sub" / "broken.mp4").write_text("garbage")
    (src / "notes.txt").write_text("not media")
    out = tmp_path / "out"
    result = run_cli("run", src, "--model", tiny_model, "-o", out)
    assert result.returncode == 1
    assert f"error: {src / 'sub' / 'broken.mp4'}: " in result.stderr
    assert "3 converted, 0 skipped, 1 failed" in result.stdout
    assert listing(out) == ["a.mp4", "sub", "sub/b.gif", "sub/c.jpg"]
    # a second run skips what exists, and --overwrite redoes it
    again = run_cli("run", src, "--model", tiny_model, "-o", out)
    assert "0 converted, 3 skipped, 1 failed" in again.stdout
    (src / "sub" / "broken.mp4").unlink()
    redo = run_cli("run", src, "--model", tiny_model, "-o", out, "--overwrite")
    assert redo.returncode == 0 and "3 converted, 0 skipped, 0 failed" in redo.stdout


def test_folder_run_beside_inputs_does_not_restylize_its_outputs(tmp_path, tiny_model):
    make_gif(tmp_path / "a.gif")
    assert run_cli("run", tmp_path, "--model", tiny_model, "-q").returncode == 0
    assert listing(tmp_path) == ["a.gif", "a_tiny.gif"]
    second = run_cli("run", tmp_path, "--model", tiny_model)
    assert "0 converted, 1 skipped" in second.stdout or "skipped" in second.stderr
    assert listing(tmp_path) == ["a.gif", "a_tiny.gif"]


def test_format_converts_gif_to_mp4(tmp_path, tiny_model):
    src = tmp_path / "anim.gif"
    make_gif(src, durations_ms=[40, 60, 100], transparent_box=False)
    assert run_cli("run", src, "--model", tiny_model, "--format", "mp4", "-q").returncode == 0
    out = read_video(tmp_path / "anim_tiny.mp4")
    assert out.frames == 3 and [float(t) for t in out.times] == [0.0, 0.04, 0.1]


def test_output_never_replaces_its_input(tmp_path, tiny_model):
    src = tmp_path / "a.gif"
    make_gif(src)
    before = digest(src)
    result = run_cli("run", src, "--model", tiny_model, "-o", src)
    assert result.returncode == 1 and "replace its own input" in result.stderr
    assert digest(src) == before


def test_interrupt_leaves_no_partial_output(tmp_path, tiny_model, monkeypatch):
    """Ctrl-C in the middle of a video: exit 130, nothing under the final name, no temp file."""
    src = tmp_path / "long.mp4"
    make_video(src, frames=40, audio="aac")
    import videostyle.pipeline.streams as pipeline

    real = pipeline.Progress

    def interrupt(*args, **kwargs):
        progress = real(*args, **kwargs)
        if progress.frames_done >= 8:
            raise KeyboardInterrupt
        return progress

    monkeypatch.setattr(pipeline, "Progress", interrupt)
    code = main(["run", str(src), "--model", str(tiny_model), "--batch-size", "4", "-q"])
    assert code == 130
    assert listing(tmp_path) == ["long.mp4"]


def test_models_lists_the_shipped_models():
    result = run_cli("models")
    assert result.returncode == 0 and "mosaic" in result.stdout


def test_contrast_ramp_comes_from_the_card_and_the_option_overrides_it(tmp_path):
    from PIL import Image
    torch.manual_seed(0)
    net = TransformerNet(channels=4, residual_blocks=1)
    with torch.no_grad():  # output with texture, like a trained model
        net.deconv3.conv2d.weight.mul_(60)
        net.deconv3.conv2d.bias.fill_(128)
    model = tmp_path / "ramped.pth"
    torch.save(net.state_dict(), model)
    model.with_suffix(".json").write_text('{"architecture": {"channels": 4, "residual_blocks": 1, "contrast_ramp": 4}}')
    faint = np.random.default_rng(1).integers(0, 2, size=(48, 64, 3), dtype=np.uint8)  # black, one level of noise
    Image.fromarray(faint).save(tmp_path / "dark.png")
    spread = {}
    for name, extra in [("card", []), ("off", ["--contrast-ramp", "0"])]:
        out = tmp_path / f"{name}.png"
        assert main(["run", str(tmp_path / "dark.png"), "--model", str(model), "-o", str(out), "-q", *extra]) == 0
        spread[name] = float(np.asarray(Image.open(out), dtype=np.float32).std())
    assert spread["off"] > 10, spread  # the noise painted at full strength
    assert spread["card"] < 0.25 * spread["off"], spread


def test_finetune_help_shows_the_defaults_finetune_uses():
    # Regression: the help of the loop options shared with `train` showed train's
    # defaults (lr 1e-3, batch 4, samples every 200, checkpoints every 500) for finetune.
    from videostyle.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    finetune, train = sub.choices["finetune"], sub.choices["train"]
    text = " ".join(finetune.format_help().split())
    for flag, value in (("--lr", 2e-4), ("--batch-size", 2), ("--sample-every", 100), ("--checkpoint-every", 200)):
        dest = flag[2:].replace("-", "_")
        assert finetune.get_default(dest) == value
        assert f"(default: {value})" in text, flag
    assert "(default: 0.001)" in " ".join(train.format_help().split())


def test_distill_and_finetune_help_state_the_step_counts_their_configs_run():
    # The step counts were literals in the CLI beside the ones in the configs; distill's
    # default became 4000 (the shipped -fast models' steps), and help and run must agree.
    from videostyle.cli import build_parser
    from videostyle.config import DistillConfig, FinetuneConfig

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, config, required in (("distill", DistillConfig, dict(teacher="t", data="d", out="o")),
                                   ("finetune", FinetuneConfig, dict(model="m", data="d", out="o"))):
        text = " ".join(sub.choices[name].format_help().split())
        assert f"optimizer steps (default: {config.DEFAULT_ITERATIONS})" in text, name
        assert config(**required).steps_asked() == config.DEFAULT_ITERATIONS
        assert config(**required, iterations=7).steps_asked() == 7
    assert DistillConfig.DEFAULT_ITERATIONS == 4000
