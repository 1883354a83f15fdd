"""Colour conversion on the device (videostyle.network.yuv) against libswscale, every
matrix and range the decoder and encoder tag streams with."""

import av
import numpy as np
import pytest
import torch
from av.video.reformatter import Interpolation

from videostyle.media.colour import matrix_for
from videostyle.network.yuv import rgb_to_yuv420, yuv420_to_rgb

# swscale's exact paths: its default 4:2:0 -> RGB fast path rounds to within 3 levels of
# the matrix arithmetic; with accurate rounding and full chroma interpolation it agrees
# with the arithmetic (and with yuv.py) to one level. Towards 4:2:0, area averaging is
# yuv.py's 2x2 mean.
TO_RGB = Interpolation.POINT | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT
TO_YUV = Interpolation.AREA | Interpolation.ACCURATE_RND
CASES = [("bt601", "itu601", 1, False), ("bt601", "itu601", 2, True),
         ("bt709", "itu709", 1, False), ("bt709", "itu709", 2, True),
         ("bt2020", "bt2020", 1, False), ("bt2020", "bt2020", 2, True)]


def smooth_rgb(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([127 + 120 * np.sin(xx / 9 + c) * np.cos(yy / 7 - c) for c in (0, 1, 2)], -1).round().astype(np.uint8)


def planes(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(np.frombuffer(bytes(p), np.uint8).reshape(-1, p.line_size)[:, :p.width] for p in frame.planes)


def tensors(*arrays):
    return [torch.from_numpy(np.array(a))[None] for a in arrays]  # a copy: frombuffer views are read-only


@pytest.mark.parametrize("matrix,space,av_range,full", CASES)
def test_yuv420_to_rgb_matches_swscale(matrix, space, av_range, full):
    # even sizes: the encoder writes odd-sized video as 4:4:4, and at an odd edge swscale
    # interpolates the last chroma column where yuv.py repeats it
    h, w = 64, 96
    rng = np.random.default_rng(0)
    yuv = av.VideoFrame.from_ndarray(smooth_rgb(h, w), format="rgb24").reformat(
        format="yuv420p", dst_colorspace=space, dst_color_range=av_range)
    y, u, v = planes(yuv)
    y = np.clip(y.astype(int) + rng.integers(-3, 4, y.shape), 0, 255).astype(np.uint8)  # luma detail
    yuv = av.VideoFrame.from_ndarray(np.concatenate([y, u.reshape(-1, w), v.reshape(-1, w)]), format="yuv420p")
    y, u, v = planes(yuv)
    expected = yuv.reformat(format="rgb24", src_colorspace=space, src_color_range=av_range,
                            interpolation=TO_RGB).to_ndarray().astype(int)
    ours = yuv420_to_rgb(*tensors(y, u, v), matrix, full)[0].round().permute(1, 2, 0).numpy().astype(int)
    assert ours.shape == expected.shape
    assert np.abs(ours - expected).max() <= 1


@pytest.mark.parametrize("matrix,space,av_range,full", CASES)
@pytest.mark.parametrize("size", [(64, 96), (46, 70)])  # 4:2:0 is even-sized (see above)
def test_rgb_to_yuv420_matches_swscale(matrix, space, av_range, full, size):
    rgb = smooth_rgb(*size)
    expected = planes(av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
        format="yuv420p", dst_colorspace=space, dst_color_range=av_range, interpolation=TO_YUV))
    ours = rgb_to_yuv420(torch.from_numpy(rgb).permute(2, 0, 1)[None].float(), matrix, full)
    for plane, reference in zip(ours, expected):
        assert plane[0].shape == reference.shape
        assert np.abs(plane[0].numpy().astype(int) - reference).max() <= 1


def test_round_trip_keeps_grey_levels():
    grey = torch.arange(256, dtype=torch.float32).repeat(3, 2, 1)[None]  # (1, 3, 2, 256)
    for matrix in ("bt601", "bt709"):
        back = yuv420_to_rgb(*rgb_to_yuv420(grey, matrix, True), matrix, True)
        assert (back.round() - grey).abs().max() <= 1


def test_untagged_streams_are_bt601():
    assert matrix_for(2) == "bt601" and matrix_for(1) == "bt709" and matrix_for(6) == "bt601"
