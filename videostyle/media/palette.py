"""Colour quantisation of animated GIF frames that stays put from frame to frame.

A fresh palette and Floyd–Steinberg dither for every frame make a GIF shimmer even
where the picture stands still: any change anywhere re-routes the diffused error, so the
dither pattern is new on every frame. Measured on the stylized GIF clips of
``benchmarks/gif_flicker.py``, that shimmer was larger than the network's own flicker.
So consecutive frames share what they can:

- the palette: kept while quantising the new frame with it costs at most
  ``palette_tolerance`` (relative) more squared error than a fresh median-cut palette
  would, both mapped the same way; otherwise (a cut, new colours) the fresh one, refined
  (below), replaces it. Since the kept palette is itself a refined one, a tolerance of
  0.5 keeps it through a still scene and drops it at cuts and colour changes;
- the pixels: under a kept palette, a pixel keeps its previous index while its colour
  differs by at most ``keep_levels`` (0–255, any channel) from the colour it had when
  that index was chosen — the frame-to-frame stability trick of gifski. Pixels that moved
  or changed get a new index.

New indices are dithered only where dither is needed (``dither="adaptive"``, the
default): Floyd–Steinberg where the picture is smooth, so gradients do not band, and
the nearest palette colour where it is textured (local grey-level standard deviation
over 5×5 pixels above ``TEXTURE_LEVELS``), where texture hides banding and where the
diffused error, re-routed by every moving edge, would make the dither pattern crawl —
the same idea as libimagequant's dither map. Each palette taken is median cut refined
by a few k-means (Lloyd) iterations on a sample of the frame's pixels, which lowers the
quantisation error, so the dither has less to hide (``benchmarks/gif_flicker.py``).

Index 255 is never in the palette: it marks transparent pixels.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from ..config import GIF_DITHER, GIF_DITHERS, GIF_KEEP_LEVELS

TRANSPARENT_INDEX = 255
PALETTE_COLOURS = 255
KEEP_LEVELS = GIF_KEEP_LEVELS  # default of ``run --gif-keep-levels``
PALETTE_TOLERANCE = 0.5
DITHERS = GIF_DITHERS
DITHER = GIF_DITHER  # default of ``run --gif-dither``
TEXTURE_LEVELS = 6.0  # local grey-level std (0-255) above which ``adaptive`` does not dither
KMEANS_ITERATIONS = 4
KMEANS_SAMPLE = 16384  # pixels the k-means refinement fits, at most


def _squared_error(indexed: Image.Image, rgb: np.ndarray) -> float:
    return float(np.mean((np.asarray(indexed.convert("RGB"), dtype=np.float32) - rgb) ** 2))


def _palette_image(entries: list[int]) -> Image.Image:
    image = Image.new("P", (1, 1))
    # unused entries repeat colour 0: padding with black would let dark pixels map to
    # index 255, which GIF readers then show as transparent
    image.putpalette(entries + entries[:3] * (256 - len(entries) // 3))
    return image


def refine_palette(rgb: np.ndarray, entries: list[int], iterations: int = KMEANS_ITERATIONS) -> list[int]:
    """``entries`` (flat RGB triplets) moved by Lloyd iterations toward the colours of
    ``rgb`` (..., 3) uint8 they quantise: each entry becomes the mean of the sampled
    pixels (every k-th, at most ``KMEANS_SAMPLE``) nearest to it; entries no pixel is
    nearest to stay."""
    pixels = rgb.reshape(-1, 3)
    pixels = pixels[::-(-len(pixels) // KMEANS_SAMPLE)].astype(np.float32)  # every k-th pixel
    palette = np.asarray(entries, dtype=np.float32).reshape(-1, 3)
    for _ in range(iterations):
        # nearest entry by squared distance, less the pixel's own |p|², the same for every entry
        nearest = ((palette * palette).sum(1)[None] - 2 * pixels @ palette.T).argmin(1)
        counts = np.bincount(nearest, minlength=len(palette))[:, None]
        sums = np.stack([np.bincount(nearest, pixels[:, c], minlength=len(palette)) for c in range(3)], axis=1)
        palette = np.where(counts > 0, sums / np.maximum(counts, 1), palette).astype(np.float32)
    return [int(v) for v in np.rint(palette.clip(0, 255)).ravel()]


def textured(rgb: np.ndarray, levels: float = TEXTURE_LEVELS) -> np.ndarray:
    """(H, W) bool: where the grey level's standard deviation over 5×5 pixels exceeds ``levels``."""
    grey = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    mean = cv2.blur(grey, (5, 5), borderType=cv2.BORDER_REFLECT)
    mean_sq = cv2.blur(grey * grey, (5, 5), borderType=cv2.BORDER_REFLECT)
    return mean_sq - mean * mean > levels * levels


class StableQuantizer:
    """Turns (H, W, 3) uint8 frames into 'P' images, one call per frame in order; see the
    module docstring. ``keep_levels=0`` and ``palette_tolerance=0`` give a fresh palette
    and independent dithering every frame."""

    def __init__(self, palette_tolerance: float = PALETTE_TOLERANCE, keep_levels: int = KEEP_LEVELS,
                 dither: str = DITHER):
        if palette_tolerance < 0 or keep_levels < 0:
            raise ValueError("palette_tolerance and keep_levels must be >= 0")
        if dither not in DITHERS:
            raise ValueError(f"dither must be one of {', '.join(DITHERS)}, got {dither!r}")
        self.palette_tolerance = palette_tolerance
        self.keep_levels = keep_levels
        self.dither = dither
        self.palettes = 0  # palettes made so far: 1 for a still scene, one per frame with keep_levels=0
        self._palette: Image.Image | None = None
        self._palette_shape: tuple[int, ...] | None = None
        self._indices: np.ndarray | None = None
        self._reference: np.ndarray | None = None  # each pixel's colour when its index was chosen

    @classmethod
    def for_keep_levels(cls, keep_levels: int, dither: str = DITHER) -> "StableQuantizer":
        """The default palette tolerance with ``keep_levels``; 0 turns both off."""
        return cls(palette_tolerance=PALETTE_TOLERANCE if keep_levels else 0.0, keep_levels=keep_levels,
                   dither=dither)

    def _choose_palette(self, image: Image.Image, rgb: np.ndarray) -> bool:
        """Keep the current palette or take a fresh one; True when it changed."""
        median_cut = image.quantize(colors=PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT)
        entries = (median_cut.getpalette() or [0, 0, 0])[: 3 * PALETTE_COLOURS]
        if self._palette is not None and self._palette_shape == rgb.shape and self.palette_tolerance > 0:
            # both mapped the same way (Pillow's palette mapping is approximate nearest colour)
            current = image.quantize(palette=self._palette, dither=Image.Dither.NONE)
            fresh = image.quantize(palette=_palette_image(entries), dither=Image.Dither.NONE)
            if _squared_error(current, rgb) <= (1 + self.palette_tolerance) * _squared_error(fresh, rgb):
                return False
        # refined only when taken: the k-means iterations cost 2-4 times the rest
        self._palette, self._palette_shape = _palette_image(refine_palette(rgb, entries)), rgb.shape
        self.palettes += 1
        return True

    def _fresh_indices(self, image: Image.Image, rgb: np.ndarray) -> np.ndarray:
        """Fresh palette indices of every pixel, dithered as ``self.dither`` says."""
        if self.dither == "none":
            return np.array(image.quantize(palette=self._palette, dither=Image.Dither.NONE))
        dithered = np.array(image.quantize(palette=self._palette, dither=Image.Dither.FLOYDSTEINBERG))
        if self.dither == "floyd-steinberg":
            return dithered
        nearest = np.array(image.quantize(palette=self._palette, dither=Image.Dither.NONE))
        return np.where(textured(rgb), nearest, dithered)

    def __call__(self, rgb: np.ndarray, transparent: np.ndarray | None = None) -> Image.Image:
        image = Image.fromarray(rgb)
        changed = self._choose_palette(image, rgb)
        indices = self._fresh_indices(image, rgb)
        indices[indices == TRANSPARENT_INDEX] = 0  # the same colour (see _choose_palette)
        colours = rgb.astype(np.int16)
        if not changed and self.keep_levels > 0 and self._indices is not None:
            keep = np.abs(colours - self._reference).max(axis=-1) <= self.keep_levels
            keep &= self._indices != TRANSPARENT_INDEX
            indices = np.where(keep, self._indices, indices)
            self._reference = np.where(keep[..., None], self._reference, colours)
        else:
            self._reference = colours
        if transparent is not None:
            indices[transparent] = TRANSPARENT_INDEX
        self._indices = indices
        out = Image.fromarray(indices.astype(np.uint8), mode="P")
        out.putpalette(self._palette.getpalette())
        return out
