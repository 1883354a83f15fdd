"""Videos: every frame in, one frame out, with its pts; audio copied byte for byte;
rotation, sample aspect ratio and odd sizes kept."""

from fractions import Fraction

import numpy as np
import pytest
from media import make_video, pattern, read_video, video_packets

from videostyle.media.encode import VideoEncoding
from videostyle.pipeline.file import stylize_file


def test_vfr_mp4_keeps_every_pts_and_audio_packets(tmp_path, identity):
    pts = [0, 40, 90, 100, 180, 185, 300]  # irregular: variable frame rate
    src = tmp_path / "vfr.mp4"
    facts = make_video(src, pts=pts, time_base=Fraction(1, 1000), audio="aac")
    assert facts.times == [Fraction(p, 1000) for p in pts] and facts.audio_packets
    result = stylize_file(src, tmp_path / "out.mp4", identity)
    out = read_video(tmp_path / "out.mp4")
    assert result.frames == out.frames == len(pts)
    assert out.times == facts.times  # pts x time_base, exactly
    assert out.audio_codec == "aac"
    assert out.audio_packets == facts.audio_packets


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_rotated_video_is_stylized_upright_and_keeps_its_rotation(tmp_path, identity, rotation):
    src = tmp_path / "rot.mp4"
    facts = make_video(src, size=(64, 48), rotation=rotation, audio=None, frames=3)
    stylize_file(src, tmp_path / "out.mp4", identity)
    expected_shape = (64, 48, 3) if rotation % 180 else (48, 64, 3)
    assert identity.shapes == [expected_shape] * 3  # the network saw the upright picture
    out = read_video(tmp_path / "out.mp4", keep_rgb=True)
    assert out.rotation == facts.rotation and out.rotation % 360 == rotation % 360
    assert (out.width, out.height) == (64, 48)  # stored orientation unchanged
    # the stored pixels are the input's stored pixels (identity network, lossy codec)
    error = np.abs(out.rgb[0].astype(int) - pattern(0, 64, 48).astype(int)).mean()
    assert error < 6, error


def test_upright_direction_matches_ffmpeg_autorotate(tmp_path, identity):
    """What ffmpeg's player-side autorotate shows must be what the network was given."""
    import subprocess
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    src = tmp_path / "rot.mp4"
    make_video(src, size=(64, 48), rotation=-90, audio=None, frames=1)
    seen = []

    class Recorder(type(identity)):
        def __call__(self, frames):
            seen.extend(frames)
            return super().__call__(frames)

    stylize_file(src, tmp_path / "out.mp4", Recorder())
    raw = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(tmp_path / "out.mp4"),
                          "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    shown = np.frombuffer(raw, np.uint8).reshape(seen[0].shape)
    assert np.abs(shown.astype(int) - seen[0].astype(int)).mean() < 6


def test_sample_aspect_ratio_time_base_and_duration_are_kept(tmp_path, identity):
    src = tmp_path / "sar.mp4"
    facts = make_video(src, size=(64, 48), sar=Fraction(12, 11), time_base=Fraction(1, 30000),
                       pts=[0, 1001, 2002, 3003], audio=None)
    stylize_file(src, tmp_path / "out.mp4", identity)
    out = read_video(tmp_path / "out.mp4")
    assert out.sample_aspect_ratio == Fraction(12, 11)
    assert out.time_base == facts.time_base
    assert out.pts == facts.pts


@pytest.mark.parametrize("ext", [".mp4", ".webm", ".mkv"])
def test_odd_sizes_are_kept_exactly(tmp_path, identity, ext):
    src = tmp_path / "odd.mkv"
    make_video(src, size=(33, 25), codec="libvpx-vp9", audio=None, frames=3)
    stylize_file(src, tmp_path / f"out{ext}", identity)
    out = read_video(tmp_path / f"out{ext}", keep_rgb=True)
    assert (out.width, out.height) == (33, 25)
    assert identity.shapes == [(25, 33, 3)] * 3
    error = np.abs(out.rgb[1].astype(int) - pattern(1, 33, 25).astype(int)).mean()
    assert error < 8, error  # not shifted or stretched


def test_container_change_transcodes_audio_it_cannot_carry(tmp_path, identity, caplog):
    src = tmp_path / "in.mp4"
    facts = make_video(src, audio="aac", frames=5)
    stylize_file(src, tmp_path / "out.webm", identity)
    out = read_video(tmp_path / "out.webm")
    assert out.audio_codec == "opus"
    assert out.frames == facts.frames
    assert "transcoding to libopus" in caplog.text
    # times agree to the output container's precision (WebM counts milliseconds)
    assert [round(t * 1000) for t in out.times] == [round(t * 1000) for t in facts.times]


def test_webm_to_mp4_copies_opus(tmp_path, identity):
    src = tmp_path / "in.webm"
    facts = make_video(src, codec="libvpx-vp9", audio="libopus", frames=4)
    stylize_file(src, tmp_path / "out.mp4", identity)
    out = read_video(tmp_path / "out.mp4")
    assert out.audio_codec == "opus" and out.audio_packets == facts.audio_packets
    assert out.times == facts.times


def test_subtitles_copied_into_mkv_and_converted_for_mp4(tmp_path, identity):
    src = tmp_path / "subs.mkv"
    facts = make_video(src, audio=None, frames=8, subtitles=[(40, 100, "hello"), (160, 80, "world")])
    assert [t for _, t in facts.subtitle_texts] == ["hello", "world"]
    stylize_file(src, tmp_path / "out.mkv", identity)
    assert read_video(tmp_path / "out.mkv").subtitle_texts == facts.subtitle_texts
    stylize_file(src, tmp_path / "out.mp4", identity)
    assert read_video(tmp_path / "out.mp4").subtitle_texts == facts.subtitle_texts


def test_max_size_downscales_the_long_side(tmp_path, identity):
    src = tmp_path / "big.mp4"
    make_video(src, size=(160, 90), audio=None, frames=2)
    stylize_file(src, tmp_path / "out.mp4", identity, max_size=64)
    out = read_video(tmp_path / "out.mp4")
    assert (out.width, out.height) == (64, 36)


def test_encoder_threads_reach_libx264(tmp_path, identity):
    # x264 records its settings in the stream; at 128 px high it takes up to 2 threads
    # (fewer below that), so 1 and 2 read back differently.
    src = tmp_path / "clip.mp4"
    make_video(src, size=(64, 128), frames=12, audio=None)
    stylize_file(src, tmp_path / "one.mkv", identity, encoding=VideoEncoding(threads=1))
    stylize_file(src, tmp_path / "two.mkv", identity, encoding=VideoEncoding(threads=2))
    one, two = video_packets(tmp_path / "one.mkv"), video_packets(tmp_path / "two.mkv")
    assert len(one) == len(two) == 12
    assert b" threads=1 " in one[0] and b" threads=2 " in two[0]
