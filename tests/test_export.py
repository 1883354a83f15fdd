"""Models outside videostyle: ONNX and TorchScript exports with the padding inside the
graph, and ONNX Runtime as a CPU backend that agrees with the torch path."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from media import make_video

from videostyle.cli import main
from videostyle.media.decode import VideoSource
from videostyle.network.export import export_model
from videostyle.network.models import load_model
from videostyle.network.stylize import Stylizer
from videostyle.network.transformer_net import TransformerNet

pytest.importorskip("onnxruntime")


@pytest.fixture
def ramped() -> TransformerNet:
    torch.manual_seed(3)
    model = TransformerNet(channels=8, residual_blocks=2)
    model.contrast_ramp = 4.0
    return model.eval()


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_export_round_trips_within_a_grey_level(tmp_path, ramped, fmt):
    difference = export_model(ramped, tmp_path / f"model.{fmt}", fmt)
    assert difference <= 1.0
    frames = [np.random.default_rng(i).integers(0, 255, (37 + i, 50 + 3 * i, 3), dtype=np.uint8) for i in range(2)]
    flat = np.full((40, 40, 3), 90, np.uint8)  # the contrast ramp acts on this one
    for frame in [*frames, flat]:
        x = torch.from_numpy(frame).permute(2, 0, 1)[None].float()
        expected = Stylizer(ramped, "cpu", backend="torch")([frame])[0].astype(float)
        if fmt == "onnx":
            import onnxruntime
            session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"))
            got = session.run(None, {"image": x.numpy()})[0][0]
        else:
            got = torch.jit.load(str(tmp_path / "model.torchscript"))(x)[0].detach().numpy()
        assert np.abs(got.transpose(1, 2, 0) - expected).max() <= 1.0


def test_the_documented_onnxruntime_snippet_runs(tmp_path, tiny_model):
    """The ten lines in videostyle/network/export.py's docstring, as a user would run them."""
    from PIL import Image

    import videostyle.network.export as export

    assert main(["export", str(tiny_model), "-o", str(tmp_path / "mosaic.onnx"), "-q"]) == 0
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (45, 61, 3), dtype=np.uint8)).save(tmp_path / "photo.jpg")
    snippet = export.__doc__.split("::")[1].split("\n\n:func:")[0]
    code = "\n".join(line[4:] for line in snippet.strip("\n").splitlines())
    import os
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        exec(code, {})
    finally:
        os.chdir(here)
    assert Image.open(tmp_path / "photo_mosaic.png").size == (61, 45)


def test_onnxruntime_backend_matches_torch_on_the_pipelines_frames(tmp_path):
    make_video(tmp_path / "clip.mp4", size=(96, 64), frames=4, audio=None)
    with VideoSource(tmp_path / "clip.mp4") as source:
        frames = [f.rgb for f in source.frames()]
    model = load_model("mosaic")
    by_torch = Stylizer(model, "cpu", backend="torch")(frames)
    by_ort = Stylizer(load_model("mosaic"), "cpu", backend="onnxruntime")(frames)
    assert max(np.abs(a.astype(int) - b.astype(int)).max() for a, b in zip(by_torch, by_ort)) <= 1


def test_auto_backend_is_onnxruntime_for_fp32_on_the_cpu_and_torch_otherwise(tiny_model, monkeypatch):
    from videostyle.network import devices

    assert Stylizer(load_model(tiny_model), "cpu", backend="auto").backend == "onnxruntime"
    monkeypatch.setattr(devices, "cpu_supports_bf16", lambda: True)
    assert Stylizer(load_model(tiny_model), "cpu", half=True, backend="auto").backend == "torch"
    with pytest.raises(Exception, match="runs fp32 on the CPU"):
        Stylizer(load_model(tiny_model), "cpu", half=True, backend="onnxruntime")


def test_a_long_wait_is_said_in_one_line_with_what_would_be_quicker(tmp_path, tiny_model, monkeypatch, capsys):
    from videostyle.pipeline import streams

    monkeypatch.setattr(streams, "LONG_WAIT_S", 0.0)
    make_video(tmp_path / "clip.mp4", size=(96, 64), frames=12, audio=None)
    assert main(["run", str(tmp_path / "clip.mp4"), "--model", str(tiny_model), "--backend", "torch", "--fp32", "-q"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "remaining" in line]
    assert len(lines) == 1 and lines[0].startswith("warning: ")
    assert "11 frames" in lines[0] and "--max-size 48" in lines[0] and "--backend onnxruntime" in lines[0]


def test_the_long_wait_names_the_styles_fast_model_when_one_is_shipped(tmp_path, tiny_model, monkeypatch, capsys):
    from videostyle.network import models
    from videostyle.pipeline import streams

    shipped = {name: models.ModelInfo(name, tiny_model, {}) for name in ("tiny", "tiny-stable", "tiny-fast", "other")}
    monkeypatch.setattr(models, "available_models", lambda: shipped)
    monkeypatch.setattr(streams, "LONG_WAIT_S", 0.0)
    make_video(tmp_path / "clip.mp4", size=(96, 64), frames=12, audio=None)
    said = {}
    for model in ("tiny-stable", "tiny-fast", "other"):
        assert main(["run", str(tmp_path / "clip.mp4"), "--model", model, "-o", str(tmp_path / f"{model}.mp4"),
                     "-q"]) == 0
        said[model] = [line for line in capsys.readouterr().err.splitlines() if "remaining" in line]
    assert len(said["tiny-stable"]) == 1 and "--model tiny-fast" in said["tiny-stable"][0]
    assert "--model" not in said["tiny-fast"][0] and "--model" not in said["other"][0]


def test_the_long_wait_of_a_compiled_network_is_timed_after_the_compiler(tmp_path, monkeypatch, caplog):
    """Regression: with --compile the first batch includes the compiler's wait, and the
    estimate made from it said minutes for a clip that took seconds."""
    import logging
    import time

    from videostyle.media.decode import VideoSource
    from videostyle.media.encode import VideoEncoding, VideoSink
    from videostyle.pipeline import streams

    class Compiled:
        batch_size, compiled, calls = 1, True, 0

        def __call__(self, frames):
            self.calls += 1
            if self.calls == 1:
                time.sleep(0.5)  # the compiler
            return [f.copy() for f in frames]

    monkeypatch.setattr(streams, "LONG_WAIT_S", 2.0)  # 11 frames x 0.5 s would be said; 11 x ~0 not
    make_video(tmp_path / "clip.mp4", size=(64, 48), frames=12, audio=None)
    with caplog.at_level(logging.WARNING, logger="videostyle.pipeline.streams"):
        with VideoSource(tmp_path / "clip.mp4") as source:
            sink = VideoSink(tmp_path / "out.mp4", tmp_path / "out.mp4", source.info, source.info.frame_size,
                             VideoEncoding())
            assert streams.run_streams(source, sink, Compiled()) == 12
    assert not [r for r in caplog.records if "remaining" in r.getMessage()]
