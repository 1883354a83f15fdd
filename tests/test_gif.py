"""GIFs: every frame's own duration, the loop count and transparency survive; a good palette."""

from fractions import Fraction

import numpy as np
import pytest
from media import make_gif, read_gif, read_video
from PIL import Image

from videostyle.media.gif import read_loop_count
from videostyle.pipeline.file import stylize_file


@pytest.mark.parametrize("loop", [0, 3, None])
def test_gif_keeps_durations_loop_and_transparency(tmp_path, identity, loop):
    src = tmp_path / "in.gif"
    durations = [50, 20, 130, 70, 30]
    make_gif(src, durations_ms=durations, loop=loop)
    before = read_gif(src)
    assert before.durations_ms == durations and before.loop == loop
    stylize_file(src, tmp_path / "out.gif", identity)
    after = read_gif(tmp_path / "out.gif")
    assert after.size == before.size
    assert after.durations_ms == durations
    assert after.loop == loop
    assert len(after.alpha) == len(before.alpha)
    for a, b in zip(after.alpha, before.alpha):
        assert np.array_equal(a == 0, b == 0)  # the same pixels are transparent


def test_gif_to_mp4_keeps_frame_times(tmp_path, identity):
    src = tmp_path / "in.gif"
    make_gif(src, durations_ms=[50, 20, 130, 70], transparent_box=False)
    stylize_file(src, tmp_path / "out.mp4", identity)
    out = read_video(tmp_path / "out.mp4")
    assert out.frames == 4
    assert out.times == [Fraction(0), Fraction(5, 100), Fraction(7, 100), Fraction(20, 100)]


def test_gradient_does_not_band(tmp_path, identity):
    """Per-frame palettes with dithering keep a smooth gradient smooth: after blurring away
    the dither, the GIF is close to the original, and far more than 256 levels are resolved."""
    w, h = 384, 192  # 2-D gradient: far more colours than a 256-entry palette holds
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.dstack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) * 255 // (w + h - 2)]).astype(np.uint8)
    src = tmp_path / "grad.gif"
    frames = [Image.fromarray(rgb).quantize(colors=256, method=Image.Quantize.MEDIANCUT)] * 2
    frames[0].save(src, save_all=True, append_images=frames[1:], duration=[100, 100], loop=0)

    class Gradient(type(identity)):
        def __call__(self, batch):
            return [rgb.copy() for _ in batch]

    stylize_file(src, tmp_path / "out.gif", Gradient())
    out = read_gif(tmp_path / "out.gif").rgb[0].astype(float)

    def box(a, k=7):
        kernel = np.ones(k) / k
        a = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="valid"), 1, a)
        return np.apply_along_axis(lambda c: np.convolve(c, kernel, mode="valid"), 0, a)

    smooth_error = max(np.abs(box(out[..., c]) - box(rgb[..., c].astype(float))).mean() for c in range(3))
    assert smooth_error < 1.5, smooth_error  # undithered median cut measures 3.3 here


def test_loop_count_parser_reads_pillow_files(tmp_path):
    for loop in (0, 1, 7, None):
        path = tmp_path / f"l{loop}.gif"
        make_gif(path, loop=loop, transparent_box=False)
        assert read_loop_count(path) == loop
