"""The device colour path: 4:2:0 planes go to the network's device and back, converted
there, instead of RGB converted by swscale on the CPU. On a CPU it is forced here
(``colour_on_device=True``) and must give what the swscale path gives, within a grey
level, with the same timing, rotation, audio and batches in flight."""

import logging

import av
import numpy as np
import pytest
from media import make_video, pattern, read_video

from videostyle.media.encode import VideoEncoding
from videostyle.media.planes import frame_of, planes_of, rotate_planes
from videostyle.network.models import load_model
from videostyle.network.stylize import Stylizer
from videostyle.pipeline.file import stylize_file
from videostyle.pipeline.looks import Look

LOSSLESS = VideoEncoding(crf=0)  # libx264 at CRF 0 stores 4:2:0 exactly: only the conversions differ


def tagged_clip(path, colorspace: int, color_range: int, size=(70, 46), frames=5, rotation=0):
    out = av.open(str(path), "w")
    v = out.add_stream("libx264", rate=25)
    v.width, v.height, v.pix_fmt = *size, "yuv420p"
    v.codec_context.colorspace, v.codec_context.color_range = colorspace, color_range
    v.codec_context.options = {"crf": "0"}
    if rotation:
        v.set_display_rotation(rotation)
    sws = {1: "itu709", 4: "fcc", 5: "itu601", 9: "bt2020"}[colorspace]
    for i in range(frames):
        frame = av.VideoFrame.from_ndarray(pattern(i, *size), format="rgb24")
        for packet in v.encode(frame.reformat(format="yuv420p", dst_colorspace=sws, dst_color_range=color_range)):
            out.mux(packet)
    for packet in v.encode():
        out.mux(packet)
    out.close()


def both_paths(tmp_path, src, model, batch_size=1, **options):
    outputs = []
    for on_device in (False, True):
        stylizer = Stylizer(model, "cpu", batch_size=batch_size, half=False, backend="torch",
                            colour_on_device=on_device)
        dst = tmp_path / f"{src.stem}_{on_device}.mp4"
        stylize_file(src, dst, stylizer, encoding=LOSSLESS, **options)
        outputs.append(read_video(dst, keep_rgb=True))
    return outputs


@pytest.mark.parametrize("colorspace, color_range", [(5, 1), (1, 1), (5, 2), (1, 2), (9, 1)],
                         ids=["bt601-limited", "bt709-limited", "bt601-full", "bt709-full", "bt2020-limited"])
def test_planes_on_the_device_match_swscale_within_a_grey_level(tmp_path, tiny_model, colorspace, color_range, caplog):
    src = tmp_path / "tagged.mp4"
    tagged_clip(src, colorspace, color_range)
    with caplog.at_level(logging.INFO, logger="videostyle.pipeline.file"):
        swscale, device = both_paths(tmp_path, src, load_model(str(tiny_model)))
    assert sum("colour converted on the device" in r.getMessage() for r in caplog.records) == 1
    assert device.pts == swscale.pts and device.pix_fmt == swscale.pix_fmt == ("yuvj420p" if color_range == 2 else "yuv420p")
    for a, b in zip(swscale.rgb, device.rgb):
        diff = np.abs(a.astype(int) - b.astype(int))
        assert diff.max() <= 2 and diff.mean() < 0.3


def test_planes_keep_rotation_timing_audio_and_order_with_batches_in_flight(tmp_path, tiny_model):
    src = tmp_path / "rotated.mp4"
    facts = make_video(src, size=(64, 48), pts=[0, 40, 90, 100, 180, 260, 300], rotation=90, audio="aac")
    swscale, device = both_paths(tmp_path, src, load_model(str(tiny_model)), batch_size=3)
    assert device.pts == swscale.pts and device.times == facts.times
    assert device.rotation == facts.rotation == 90 and (device.width, device.height) == (64, 48)
    assert device.audio_packets == facts.audio_packets
    for a, b in zip(swscale.rgb, device.rgb):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 2


def test_planes_are_not_used_where_rgb_is_needed_on_the_cpu(tmp_path, tiny_model, caplog):
    src = tmp_path / "clip.mp4"
    make_video(src, size=(64, 48), audio=None)
    odd = tmp_path / "odd.mp4"
    make_video(odd, size=(63, 47), audio=None, pix_fmt="yuv444p")
    fcc = tmp_path / "fcc.mp4"  # a matrix only libswscale has
    tagged_clip(fcc, 4, 1)
    stylizer = Stylizer(load_model(str(tiny_model)), "cpu", half=False, backend="torch", colour_on_device=True)
    with caplog.at_level(logging.INFO, logger="videostyle.pipeline.file"):
        stylize_file(src, tmp_path / "look.mp4", stylizer, look=Look(strength=0.5))
        stylize_file(src, tmp_path / "filtered.mp4", stylizer, frame_filter=lambda seen, out, alpha: out)
        stylize_file(src, tmp_path / "out.gif", stylizer)
        stylize_file(odd, tmp_path / "odd_out.mp4", stylizer)
        stylize_file(fcc, tmp_path / "fcc_out.mp4", stylizer)
    assert not any("colour converted on the device" in r.getMessage() for r in caplog.records)


def test_planes_round_trip_through_an_av_frame_at_odd_sizes():
    frame = av.VideoFrame.from_ndarray(pattern(1, 33, 47), format="rgb24").reformat(format="yuv420p")
    planes = planes_of(frame)
    assert [p.shape for p in planes] == [(47, 33), (24, 17), (24, 17)]
    assert all((a == b).all() for a, b in zip(planes, planes_of(frame_of(planes))))
    turned = rotate_planes(planes, 1)
    assert [p.shape for p in turned] == [(33, 47), (17, 24), (17, 24)]
    assert all((a == b).all() for a, b in zip(planes, rotate_planes(turned, -1)))


def test_submitted_batches_come_back_in_order(tiny_model):
    stylizer = Stylizer(load_model(str(tiny_model)), "cpu", batch_size=2, half=False, backend="torch")
    frames = [pattern(i, 40, 24) for i in range(5)]
    one_by_one = [stylizer([f])[0] for f in frames]
    pending = [stylizer.submit(frames[:3]), stylizer.submit(frames[3:])]
    together = [f for p in pending for f in p.result()]
    assert len(together) == 5 and all((a == b).all() for a, b in zip(one_by_one, together))


def test_planes_follow_a_segment_and_max_size(tmp_path, tiny_model):
    """--start/--duration and --max-size: the first frame of the part (decoded before the
    planes were asked for) and the scaled frames come as planes too."""
    src = tmp_path / "long.mp4"
    make_video(src, size=(96, 64), frames=12, audio="aac")
    swscale, device = both_paths(tmp_path, src, load_model(str(tiny_model)), batch_size=2,
                                 segment=(0.1, 0.2), max_size=48)
    assert device.pts == swscale.pts and len(device.pts) == 5
    assert (device.width, device.height) == (swscale.width, swscale.height) == (48, 32)
    for a, b in zip(swscale.rgb, device.rgb):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 3
