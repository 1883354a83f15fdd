"""The controls users turn after training: strength, colour preservation, stability
between a model and its -stable twin, tiles, stroke scale, a preview part, side-by-side
comparisons, and runs on a Ray cluster."""

from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from conftest import listing
from media import make_gif, make_video, pattern, read_video
from PIL import Image

from videostyle.cli import main
from videostyle.network.models import load_blend, load_model
from videostyle.network.stylize import Stylizer
from videostyle.network.transformer_net import TransformerNet
from videostyle.pipeline.looks import to_ycbcr


@pytest.fixture(scope="module")
def twins(tmp_path_factory) -> Path:
    """A tiny model and a '-stable' twin that differs from it, with cards (ramp on the twin)."""
    folder = tmp_path_factory.mktemp("twins")
    torch.manual_seed(1)
    base = TransformerNet(channels=4, residual_blocks=1)
    torch.save(base.state_dict(), folder / "tiny.pth")
    torch.manual_seed(2)
    stable = {k: v + 0.05 * torch.randn_like(v) for k, v in base.state_dict().items()}
    torch.save(stable, folder / "tiny-stable.pth")
    (folder / "tiny-stable.json").write_text('{"architecture": {"contrast_ramp": 4.0}}')
    return folder


def photo(width: int = 96, height: int = 72) -> np.ndarray:
    rng = np.random.default_rng(4)
    return (pattern(3, width, height).astype(int) + rng.integers(-30, 30, (height, width, 3))).clip(0, 255).astype(np.uint8)


def stylize_png(tmp_path: Path, model: Path, *options: str) -> np.ndarray:
    src = tmp_path / "in.png"
    if not src.exists():
        Image.fromarray(photo()).save(src)
    out = tmp_path / f"out{len(list(tmp_path.iterdir()))}.png"
    assert main(["run", str(src), "-o", str(out), "--model", str(model), "-q", *options]) == 0
    return np.asarray(Image.open(out).convert("RGB")).astype(int)


def test_strength_zero_gives_the_input_and_one_the_plain_output(tmp_path, tiny_model):
    plain = stylize_png(tmp_path, tiny_model)
    assert np.array_equal(stylize_png(tmp_path, tiny_model, "--strength", "1"), plain)
    assert np.array_equal(stylize_png(tmp_path, tiny_model, "--strength", "0"), photo().astype(int))
    half = stylize_png(tmp_path, tiny_model, "--strength", "0.5")
    assert np.abs(half - (plain + photo()) / 2).max() <= 1


@pytest.mark.parametrize("how", ["luma", "histogram"])
def test_preserve_color_keeps_the_input_chroma(tmp_path, how):
    out = stylize_png(tmp_path, "mosaic", "--preserve-color", how)  # a real style: few clipped pixels
    chroma_in, chroma_out = to_ycbcr(photo(), "bt601")[..., 1:], to_ycbcr(out, "bt601")[..., 1:]
    unclipped = ((out > 0) & (out < 255)).all(-1)
    assert unclipped.mean() > 0.5
    assert np.abs(chroma_out - chroma_in)[unclipped].max() <= 2
    plain = stylize_png(tmp_path, "mosaic")
    luma_out, luma_plain = to_ycbcr(out, "bt601")[..., 0], to_ycbcr(plain, "bt601")[..., 0]
    if how == "luma":  # the stylized light and dark, as they were
        assert np.abs(luma_out - luma_plain)[unclipped].max() <= 2
    else:  # ... moved to the input's brightness and contrast
        assert abs(luma_out.mean() - to_ycbcr(photo(), "bt601")[..., 0].mean()) < 2


def test_preserve_color_on_video_uses_the_streams_matrix(tmp_path, tiny_model):
    """BT.709-tagged HD-style video: the chroma is kept in BT.709 YCbCr."""
    from videostyle.media.colour import matrix_for
    from videostyle.pipeline.looks import Look

    assert matrix_for(1) == "bt709" and matrix_for(None) == "bt601"
    frame, styled = photo(), np.asarray(Image.fromarray(photo()).transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    out = Look(preserve_color="luma", matrix="bt709")(frame, styled)
    unclipped = ((out > 0) & (out < 255)).all(-1)
    assert unclipped.mean() > 0.5
    assert np.abs(to_ycbcr(out, "bt709")[..., 1:] - to_ycbcr(frame, "bt709")[..., 1:])[unclipped].max() <= 2


def test_stability_blends_a_model_and_its_twin(twins):
    frame = photo()
    base = Stylizer(load_model(twins / "tiny.pth"), "cpu")([frame])[0]
    stable = Stylizer(load_model(twins / "tiny-stable.pth"), "cpu")([frame])[0]
    assert not np.array_equal(base, stable)
    assert np.array_equal(Stylizer(load_blend(twins / "tiny.pth", 0.0), "cpu")([frame])[0], base)
    assert np.array_equal(Stylizer(load_blend(twins / "tiny-stable.pth", 1.0), "cpu")([frame])[0], stable)
    middle = load_blend(twins / "tiny.pth", 0.5)
    assert middle.contrast_ramp == 4.0  # the twin's card
    a, b = load_model(twins / "tiny.pth").state_dict(), load_model(twins / "tiny-stable.pth").state_dict()
    assert all(torch.allclose(middle.state_dict()[k], (a[k] + b[k]) / 2, atol=1e-6) for k in a)


def test_stability_needs_a_twin(tmp_path, tiny_model, capsys):
    Image.fromarray(photo()).save(tmp_path / "in.png")
    assert main(["run", str(tmp_path / "in.png"), "--model", str(tiny_model), "--stability", "0.5"]) == 1
    assert "-stable twin" in capsys.readouterr().err


@pytest.mark.parametrize("tile", [64, 100])
def test_tiles_give_the_untiled_result(tile):
    torch.manual_seed(0)
    model = TransformerNet(channels=8, residual_blocks=2)
    model.contrast_ramp = 4.0
    frame = photo(203, 150)
    whole = Stylizer(model, "cpu")([frame])[0].astype(int)
    tiled = Stylizer(model, "cpu", tile=tile)([frame])[0].astype(int)
    assert np.abs(whole - tiled).max() <= 1


def test_a_frame_too_large_for_memory_runs_in_tiles(monkeypatch):
    from videostyle.network import memory

    frame = photo(256, 192)
    model = TransformerNet(channels=4, residual_blocks=1)
    whole = Stylizer(model, "cpu")([frame])[0].astype(int)
    monkeypatch.setattr(memory, "available_bytes", lambda device: 256 * 192 * 100)  # whole: no; tiles: yes
    small = Stylizer(model, "cpu")
    assert small.tile_for(256, 192) is not None
    assert np.abs(small([frame])[0].astype(int) - whole).max() <= 1


def test_style_scale_keeps_the_size_and_changes_the_strokes(tmp_path):
    def detail(rgb: np.ndarray) -> float:  # mean neighbour difference: fine strokes have more
        return float(np.abs(np.diff(rgb, axis=1)).mean() + np.abs(np.diff(rgb, axis=0)).mean())
    plain = stylize_png(tmp_path, "mosaic")
    assert np.array_equal(stylize_png(tmp_path, "mosaic", "--style-scale", "1"), plain)
    coarse = stylize_png(tmp_path, "mosaic", "--style-scale", "0.5")
    fine = stylize_png(tmp_path, "mosaic", "--style-scale", "2")
    assert coarse.shape == plain.shape == fine.shape
    assert detail(coarse) < detail(plain) < detail(fine)


def test_a_preview_part_keeps_its_frames_timing_and_sound(tmp_path, tiny_model):
    src = tmp_path / "clip.mp4"
    make_video(src, size=(64, 48), frames=50, audio="aac")  # 40 ms frames, 2 s
    out = tmp_path / "part.mp4"
    assert main(["run", str(src), "-o", str(out), "--model", str(tiny_model), "-q", "--start", "0.8",
                 "--duration", "0.4"]) == 0
    facts = read_video(out)
    assert facts.frames == 10 and facts.times == [Fraction(i * 40, 1000) for i in range(10)]
    with av.open(str(out)) as container:
        stream = container.streams.audio[0]
        times = [float(p.pts * stream.time_base) for p in container.demux(stream) if p.size]
    assert 0 <= times[0] < 0.03 and times[-1] < 0.4 and len(times) >= 15


def test_a_preview_part_of_a_gif(tmp_path, tiny_model):
    src = tmp_path / "anim.gif"
    make_gif(src, durations_ms=(100, 100, 100, 100, 100, 100))
    out = tmp_path / "part.gif"
    assert main(["run", str(src), "-o", str(out), "--model", str(tiny_model), "-q", "--start", "0.2",
                 "--duration", "0.25"]) == 0
    with Image.open(out) as im:
        assert im.n_frames == 3


def test_compare_puts_the_models_side_by_side(tmp_path, tiny_model, twins):
    Image.fromarray(photo(80, 60)).save(tmp_path / "in.png")
    assert main(["compare", str(tmp_path / "in.png"), "--models", f"{tiny_model},{twins / 'tiny.pth'}", "-q"]) == 0
    with Image.open(tmp_path / "in_compare.png") as grid:
        assert grid.size == (3 * 80 + 2 * 4, 60 + 20)
        assert np.array_equal(np.asarray(grid.convert("RGB"))[20:, :80], photo(80, 60))
    make_video(tmp_path / "clip.mp4", size=(64, 48), frames=30, audio="aac")
    assert main(["compare", str(tmp_path / "clip.mp4"), "--models", str(tiny_model), "--duration", "0.5", "-q"]) == 0
    facts = read_video(tmp_path / "clip_compare.mp4")
    assert (facts.width, facts.height, facts.frames) == (2 * 64 + 4, 48 + 20, 13) and facts.audio_packets  # frames starting before 0.5 s


def test_a_folder_on_ray_gives_the_local_outputs_skips_finished_files_and_reports_failures(tmp_path, tiny_model,
                                                                                          capsys):
    pytest.importorskip("ray")
    tree = tmp_path / "in"
    (tree / "sub").mkdir(parents=True)
    for i in range(3):
        Image.fromarray(photo(40 + i, 30)).save(tree / f"p{i}.png")
    make_gif(tree / "sub" / "anim.gif")
    (tree / "broken.png").write_bytes(b"not a png")
    assert main(["run", str(tree), "-o", str(tmp_path / "local"), "--model", str(tiny_model), "-q"]) == 1
    capsys.readouterr()
    import ray
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        assert main(["run", str(tree), "-o", str(tmp_path / "ray"), "--model", str(tiny_model), "--ray"]) == 1
        out = capsys.readouterr()
        assert "4 converted, 0 skipped, 1 failed" in out.out and "broken.png" in out.err
        for name in ("p0.png", "p1.png", "p2.png"):
            assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
        assert listing(tmp_path / "ray") == listing(tmp_path / "local")
        assert main(["run", str(tree), "-o", str(tmp_path / "ray"), "--model", str(tiny_model), "--ray"]) == 1
        assert "0 converted, 4 skipped, 1 failed" in capsys.readouterr().out
    finally:
        ray.shutdown()
        shutil.rmtree(tmp_path / "in", ignore_errors=True)
