"""Every file in ../shared/data/media through the CLI with a small random network.

Skipped when that folder is absent. Checks the same properties as the generated-media
tests: frame counts, every frame time, audio packets byte for byte (or the codec a
transcode chose), rotation, sample aspect ratio, size; GIF durations, loop and
transparency.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED
from media import read_gif, read_video

from videostyle.media.gif import read_loop_count

MEDIA = SHARED / "media"
pytestmark = pytest.mark.skipif(not MEDIA.is_dir(), reason="../shared/data/media is not here")
FILES = sorted(p.name for p in MEDIA.iterdir()) if MEDIA.is_dir() else []


@pytest.fixture(scope="module")
def converted(tmp_path_factory, tiny_model) -> Path:
    out = tmp_path_factory.mktemp("real") / "out"
    result = subprocess.run([sys.executable, "-m", "videostyle", "run", str(MEDIA), "--model", str(tiny_model),
                             "-o", str(out), "--batch-size", "4"], capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stderr
    assert f"{len(FILES)} converted, 0 skipped, 0 failed" in result.stdout
    return out


@pytest.mark.parametrize("name", [f for f in FILES if not f.endswith(".gif")])
def test_video_properties_survive(converted, name):
    src, dst = MEDIA / name, converted / name
    a, b = read_video(src), read_video(dst)
    assert b.frames == a.frames
    assert (b.width, b.height) == (a.width, a.height)
    assert b.rotation == a.rotation
    assert b.sample_aspect_ratio == a.sample_aspect_ratio
    assert b.times == a.times
    if a.audio_codec:
        assert b.audio_codec == a.audio_codec
        assert b.audio_packets == a.audio_packets


@pytest.mark.parametrize("name", [f for f in FILES if f.endswith(".gif")])
def test_gif_properties_survive(converted, name):
    src, dst = MEDIA / name, converted / name
    a, b = read_gif(src), read_gif(dst)
    assert b.size == a.size
    assert b.durations_ms == a.durations_ms
    assert read_loop_count(dst) == read_loop_count(src)
    for before, after in zip(a.alpha, b.alpha):
        assert np.array_equal(before == 0, after == 0)


@pytest.mark.parametrize("name, cuts", [("bikes.mp4", [29, 75, 136, 186, 241]), ("bbb_480p_vp9_opus_1second.webm", [])])
def test_stabilizer_and_flicker_metric_find_the_same_scene_cuts_and_no_more(tmp_path, identity, name, cuts):
    # bikes.mp4 has five hard cuts (into frames 30, 76, 137, 187, 242, checked by eye);
    # frames 100-101 are fast motion with the flow's mask under half the frame, the same
    # scene. The bbb clip is a fade from black, frames 5 and 6 black but for noise: no cut,
    # since a flash there is flicker a viewer sees (one rule, videostyle.temporal.cuts).
    from videostyle.pipeline.file import stylize_file
    from videostyle.temporal.flicker import warping_error
    from videostyle.temporal.stabilize import Stabilizer

    stabilizer = Stabilizer(0.5)
    stylize_file(MEDIA / name, tmp_path / "out.mkv", identity, max_size=320, frame_filter=stabilizer)
    assert stabilizer.cuts == len(cuts)
    result = warping_error(tmp_path / "out.mkv", tmp_path / "out.mkv")
    assert [f["index"] for f in result.per_frame if f["cut"]] == cuts
