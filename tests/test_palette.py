"""GIF colour quantisation that stays put from frame to frame (videostyle.palette)."""

import numpy as np
import pytest
from media import make_gif, read_gif

from videostyle.media.encode import VideoEncoding
from videostyle.media.frames import Frame
from videostyle.media.palette import TRANSPARENT_INDEX, StableQuantizer
from videostyle.pipeline.file import stylize_file


def textured(h=48, w=64, seed=0):
    """Smooth colours plus texture: needs dithering, like a stylized frame."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.dstack([x * 255 / (w - 1), y * 255 / (h - 1), (x + y) * 255 / (w + h - 2)])
    return np.clip(base + rng.normal(0, 12, size=base.shape), 0, 255)


def frames_with_small_changes(count=5, h=48, w=64):
    """A still picture with slight noise each frame (a network's own small flicker) and
    a bright square moving along the bottom."""
    still = textured(h, w)
    rng = np.random.default_rng(1)
    frames = []
    for i in range(count):
        f = still + rng.uniform(-2, 2, size=still.shape)
        f[36:44, 4 + 6 * i:12 + 6 * i] = (255, 255, 0)
        frames.append(np.clip(f + 0.5, 0, 255).astype(np.uint8))
    return frames


def rgb_of(image):
    return np.asarray(image.convert("RGB"))


def test_still_areas_do_not_shimmer_between_frames():
    frames = frames_with_small_changes()
    stable = StableQuantizer()
    out = [rgb_of(stable(f)) for f in frames]
    for a, b in zip(out, out[1:]):
        assert np.array_equal(a[:32], b[:32])  # the top stands still: identical pixels
    assert stable.palettes == 1
    # the old behaviour, a fresh palette and Floyd–Steinberg dither per frame, re-dithers it all
    classic = StableQuantizer.for_keep_levels(0)
    old = [rgb_of(classic(f)) for f in frames]
    changed = np.mean([np.any(a[:32] != b[:32], axis=-1).mean() for a, b in zip(old, old[1:])])
    assert changed > 0.3, changed
    assert classic.palettes == len(frames)


def test_moving_and_drifting_pixels_are_redithered():
    frames = frames_with_small_changes()
    stable = StableQuantizer(keep_levels=6)
    out = [rgb_of(stable(f)) for f in frames]
    # the moving square is drawn where it is now, not where it was
    assert np.abs(out[-1][37:43, 29:35].astype(int) - (255, 255, 0)).max() < 40
    assert np.abs(out[-1][37:43, 5:11].astype(int) - frames[-1][37:43, 5:11]).mean() < 30
    # a brightness drift beyond keep_levels is followed: the mean colour tracks the input
    brighter = np.clip(frames[-1].astype(int) + 20, 0, 255).astype(np.uint8)
    again = rgb_of(stable(brighter))
    assert abs(again[:32].mean() - brighter[:32].mean()) < 2.0


def test_a_cut_gets_a_fresh_palette():
    stable = StableQuantizer()
    warm = textured()
    cool = warm[..., ::-1] * 0.5
    stable(warm.astype(np.uint8))
    out = rgb_of(stable(cool.astype(np.uint8))).astype(float)
    assert stable.palettes == 2
    assert np.abs(out - cool.astype(np.uint8)).mean() < 6


def test_transparent_pixels_get_the_reserved_index_and_are_not_kept():
    frames = frames_with_small_changes(2)
    hole = np.zeros(frames[0].shape[:2], bool)
    hole[:10, :10] = True
    stable = StableQuantizer()
    first = np.array(stable(frames[0], hole))
    assert (first[hole] == TRANSPARENT_INDEX).all() and (first[~hole] != TRANSPARENT_INDEX).all()
    second = np.array(stable(frames[1], None))
    assert (second != TRANSPARENT_INDEX).all()  # the hole is filled with real colours
    assert len(stable(frames[1]).getpalette()) >= 3 * 255


def test_dark_pixels_never_take_the_transparent_index():
    """A palette padded with black at index 255 (as a first draft of this module did)
    sends near-black pixels there, and GIF readers show them as holes."""
    dark = np.clip(textured() * 0.1, 0, 255).astype(np.uint8)
    hole = np.zeros(dark.shape[:2], bool)
    hole[0, 0] = True
    for keep_levels in (6, 0):
        indices = np.array(StableQuantizer.for_keep_levels(keep_levels)(dark, hole))
        assert (indices == TRANSPARENT_INDEX).sum() == 1


@pytest.mark.parametrize("keep_levels, still", [(6, True), (0, False)])
def test_gif_output_keeps_still_areas_still(tmp_path, identity, keep_levels, still):
    src = tmp_path / "in.gif"
    make_gif(src, size=(64, 48), durations_ms=[40] * 5, transparent_box=False)
    frames = frames_with_small_changes()

    class Flickery(type(identity)):
        """A stand-in network: the same picture each frame with slight noise."""
        calls = 0

        def __call__(self, batch):
            out = frames[self.calls:self.calls + len(batch)]
            Flickery.calls += len(batch)
            return [f.copy() for f in out]

    stylize_file(src, tmp_path / "out.gif", Flickery(), encoding=VideoEncoding(gif_keep_levels=keep_levels))
    out = read_gif(tmp_path / "out.gif")
    assert len(out.rgb) == 5 and out.durations_ms == [40] * 5
    same = [np.array_equal(a[:32], b[:32]) for a, b in zip(out.rgb, out.rgb[1:])]
    assert all(same) if still else not any(same)



def test_unchanged_pixels_are_written_transparent_and_decode_as_drawn(tmp_path):
    """Between opaque frames, pixels drawn as before are written transparent (disposal 1);
    Pillow and FFmpeg must compose exactly the quantised frames, holes included."""
    from fractions import Fraction

    from videostyle.media.decode import VideoSource
    from videostyle.media.gif import GifSink

    frames = frames_with_small_changes(6)
    hole = np.zeros(frames[0].shape[:2], bool)
    hole[:8, :8] = True
    holes = [None, None, hole, None, None, None]  # a frame with transparency in the middle
    expected_quantizer = StableQuantizer()
    expected = []
    for f, h in zip(frames, holes):
        rgba = np.asarray(expected_quantizer(f, h).convert("RGBA")).copy()
        if h is not None:
            rgba[h] = 0
        expected.append(rgba)
    sink = GifSink(tmp_path / "out.gif", (64, 48), loop=0)
    for i, (f, h) in enumerate(zip(frames, holes)):
        alpha = None if h is None else np.where(h, 0, 255).astype(np.uint8)
        sink.write_frame(Frame(f, i * 4, Fraction(1, 100), 4, i, alpha), f)
    sink.close()
    assert sink.unchanged_pixels > 0.5 * 4 * 64 * 48  # frames 1, 4, 5 and most of 3 are mostly unchanged
    out = read_gif(tmp_path / "out.gif")
    for i, (rgba, rgb, alpha) in enumerate(zip(expected, out.rgb, out.alpha)):
        visible = rgba[..., 3] > 0
        assert np.array_equal(alpha > 0, visible), i
        assert np.array_equal(rgb[visible], rgba[..., :3][visible]), i
    with VideoSource(tmp_path / "out.gif") as source:
        decoded = [f for f in source if hasattr(f, "rgb")]
    assert len(decoded) == 6
    for i, (rgba, f) in enumerate(zip(expected, decoded)):
        visible = rgba[..., 3] > 0
        assert np.array_equal(f.rgb[visible], rgba[..., :3][visible]), i


def test_moving_texture_keeps_its_colours_as_it_moves():
    """With Floyd–Steinberg everywhere, textured content that slides by a few pixels came
    out with a new dither pattern (the error diffusion is re-routed), which the warping
    error reads as flicker; the adaptive dither maps texture to its nearest colour, so
    the moved pixels are the same colours, moved."""
    rng = np.random.default_rng(3)
    wide = np.clip(textured(48, 80) + rng.normal(0, 20, size=(48, 80, 3)), 0, 255).astype(np.uint8)
    first, moved = wide[:, 8:72], wide[:, 5:69]  # the picture slides 3 px to the right
    mismatch = {}
    for dither in ("adaptive", "floyd-steinberg"):
        quantizer = StableQuantizer(dither=dither, keep_levels=0)
        a, b = rgb_of(quantizer(first)), rgb_of(quantizer(moved))
        assert quantizer.palettes == 1  # the same colours: the palette is kept
        mismatch[dither] = np.any(a[:, :-3] != b[:, 3:], axis=-1).mean()
    assert mismatch["adaptive"] < 0.02 and mismatch["floyd-steinberg"] > 0.1, mismatch


def test_smooth_gradients_are_still_dithered():
    y, x = np.mgrid[0:48, 0:256]
    ramp = np.dstack([x, x, x]).astype(np.float64) * 0.25 + 60  # 64 grey levels over 256 px
    ramp[:, :, 0] += y * 0.5  # red and blue ramps down: 4608 colours, more than a palette holds
    ramp[:, :, 2] += y
    ramp = ramp.astype(np.uint8)
    out = {d: rgb_of(StableQuantizer(dither=d)(ramp)).astype(float) for d in ("adaptive", "floyd-steinberg", "none")}
    assert np.array_equal(out["adaptive"], out["floyd-steinberg"])  # smooth everywhere: dithered everywhere

    def block_error(a):  # dithering mixes neighbouring palette colours: 8x8 block means follow the ramp
        return np.abs(a.reshape(6, 8, 32, 8, 3).mean(axis=(1, 3)) - ramp.reshape(6, 8, 32, 8, 3).mean(axis=(1, 3))).mean()
    assert block_error(out["adaptive"]) < 0.5 < 1.2 < block_error(out["none"]), [block_error(a) for a in out.values()]


def test_palette_is_refined_beyond_median_cut():
    from PIL import Image

    from videostyle.media.palette import PALETTE_COLOURS, refine_palette

    frame = np.clip(textured(96, 128, seed=5) * 0.8 + 20, 0, 255).astype(np.uint8)
    image = Image.fromarray(frame)
    median_cut = image.quantize(colors=PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT)
    refined = Image.new("P", (1, 1))
    refined.putpalette(refine_palette(frame, median_cut.getpalette()[: 3 * PALETTE_COLOURS]))

    def squared_error(palette):
        return np.mean((rgb_of(image.quantize(palette=palette, dither=Image.Dither.NONE)).astype(float) - frame) ** 2)
    assert squared_error(refined) < 0.9 * squared_error(median_cut)
    assert refine_palette(frame, median_cut.getpalette()[:30]) == refine_palette(frame, median_cut.getpalette()[:30])


def test_dither_must_be_a_known_one():
    with pytest.raises(ValueError, match="dither must be one of"):
        StableQuantizer(dither="ordered")
