"""What a GPU run chooses, checked where there is no GPU: the NVENC encoder falls back to
libx264 (one log line, the same file properties), the precision defaults, and
reduced-precision outputs against fp32."""

import logging
import shutil
from fractions import Fraction

import numpy as np
import pytest
import torch
from media import make_video, read_video

from videostyle.cli import build_parser
from videostyle.config import RunConfig
from videostyle.errors import ConfigError
from videostyle.media import nvenc
from videostyle.media.encode import VideoEncoding
from videostyle.network.devices import cpu_supports_bf16
from videostyle.network.models import load_model
from videostyle.network.stylize import Stylizer
from videostyle.pipeline.file import stylize_file

HARDWARE = VideoEncoding(hardware=True)


@pytest.mark.skipif(torch.cuda.is_available(), reason="NVENC may open on a CUDA machine")
def test_nvenc_that_cannot_open_falls_back_to_libx264_with_one_line(tmp_path, identity, caplog):
    pts = [0, 40, 90, 100, 180]
    src = tmp_path / "vfr.mp4"
    facts = make_video(src, pts=pts, time_base=Fraction(1, 1000), audio="aac", rotation=90)
    nvenc._said.cache_clear()
    with caplog.at_level(logging.INFO, logger="videostyle.media.nvenc"):
        for name in ("a.mp4", "b.mp4"):
            stylize_file(src, tmp_path / name, identity, encoding=HARDWARE)
    lines = [r.getMessage() for r in caplog.records if r.name == "videostyle.media.nvenc"]
    assert len(lines) == 1 and "h264_nvenc cannot open here" in lines[0] and "libx264" in lines[0]
    hardware, software = read_video(tmp_path / "a.mp4"), read_video(src)
    assert hardware.codec == "h264"
    assert hardware.times == software.times == facts.times
    assert hardware.rotation == software.rotation == 90
    assert hardware.audio_packets == facts.audio_packets


def test_a_named_codec_or_preset_is_never_replaced(monkeypatch):
    monkeypatch.setattr(nvenc, "opens", lambda codec: None)  # as if NVENC opened
    assert nvenc.hardware_codec("libx264") == "h264_nvenc"
    assert nvenc.hardware_codec("libx265") == "hevc_nvenc"
    assert nvenc.hardware_codec("libvpx-vp9") == "libvpx-vp9"  # no twin


def test_nvenc_quality_is_constant_quality_vbr_at_the_crf():
    assert nvenc.quality_options(18) == {"rc": "vbr", "cq": "18", "b": "0", "preset": "p5"}


def test_the_probe_runs_once_per_codec(monkeypatch):
    nvenc.opens.cache_clear()
    first = nvenc.opens("h264_nvenc")
    assert nvenc.opens("h264_nvenc") is first and nvenc.opens.cache_info().hits == 1


def test_precision_defaults_to_the_devices_native_half(tiny_model):
    parser = build_parser()
    assert parser.parse_args(["run", "x.mp4"]).half is None is RunConfig(("x",)).half
    assert parser.parse_args(["run", "x.mp4", "--fp32"]).half is False
    assert parser.parse_args(["run", "x.mp4", "--half"]).half is True
    with pytest.raises(SystemExit):
        parser.parse_args(["run", "x.mp4", "--half", "--fp32"])
    native = torch.bfloat16 if cpu_supports_bf16() else torch.float32
    assert Stylizer(load_model(str(tiny_model)), "cpu", half=None).dtype == native


@pytest.mark.skipif(not cpu_supports_bf16(), reason="this CPU has no native bf16")
def test_bf16_output_within_40_db_of_fp32(tiny_model):
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (72, 88, 3), dtype=np.uint8)
    fp32 = Stylizer(load_model(str(tiny_model)), "cpu", backend="torch")([frame])[0].astype(float)
    bf16 = Stylizer(load_model(str(tiny_model)), "cpu", half=True, backend="torch")([frame])[0].astype(float)
    mse = max(((fp32 - bf16) ** 2).mean(), 1e-12)
    assert 10 * np.log10(255 ** 2 / mse) >= 40


@pytest.mark.skipif(not (shutil.which("c++") or shutil.which("g++")), reason="torch.compile needs a C++ compiler")
def test_compiled_network_gives_the_eager_output(tiny_model):
    frame = np.random.default_rng(3).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    eager = Stylizer(load_model(str(tiny_model)), "cpu", half=False, backend="torch")([frame])[0]
    compiled = Stylizer(load_model(str(tiny_model)), "cpu", half=False, backend="torch", compile_network=True)
    assert compiled.compiled and "--compile" not in " ".join(compiled.speed_hints())
    assert np.abs(compiled([frame])[0].astype(int) - eager.astype(int)).max() <= 1


def test_compile_asks_for_the_torch_backend(tiny_model):
    with pytest.raises(ConfigError, match="--backend torch"):
        Stylizer(load_model(str(tiny_model)), "cpu", half=False, backend="onnxruntime", compile_network=True)
