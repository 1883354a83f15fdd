"""Colour quantisation of animated GIF frames that stays put from frame to frame.

A fresh palette and Floyd–Steinberg dither for every frame make a GIF shimmer even
where the picture stands still: any change anywhere re-routes the diffused error, so the
dither pattern is new on every frame. Measured on the stylized GIF clips of
``benchmarks/gif_flicker.py``, that shimmer was larger than the network's own flicker.
So consecutive frames share what they can:

- the palette: kept while quantising the new frame with it costs at most
  ``palette_tolerance`` (relative) more squared error than a fresh median-cut palette
  would; otherwise (a cut, new colours) the fresh one replaces it. Median cut fits each
  frame so closely that the previous frame's palette costs 1.1–1.4× the squared error
  even on a still scene (measured on stylized ``newtonscradle.gif``), hence 0.5;
- the pixels: under a kept palette, a pixel keeps its previous index while its colour
  differs by at most ``keep_levels`` (0–255, any channel) from the colour it had when
  that index was chosen — the frame-to-frame stability trick of gifski. Pixels that moved
  or changed get a new Floyd–Steinberg-dithered index.

Index 255 is never in the palette: it marks transparent pixels.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

TRANSPARENT_INDEX = 255
PALETTE_COLOURS = 255
KEEP_LEVELS = 6  # default of ``run --gif-keep-levels``
PALETTE_TOLERANCE = 0.5


def _squared_error(indexed: Image.Image, rgb: np.ndarray) -> float:
    return float(np.mean((np.asarray(indexed.convert("RGB"), dtype=np.float32) - rgb) ** 2))


class StableQuantizer:
    """Turns (H, W, 3) uint8 frames into 'P' images, one call per frame in order; see the
    module docstring. ``keep_levels=0`` and ``palette_tolerance=0`` give the classic
    per-frame palette with independent dithering."""

    def __init__(self, palette_tolerance: float = PALETTE_TOLERANCE, keep_levels: int = KEEP_LEVELS):
        if palette_tolerance < 0 or keep_levels < 0:
            raise ValueError("palette_tolerance and keep_levels must be >= 0")
        self.palette_tolerance = palette_tolerance
        self.keep_levels = keep_levels
        self.palettes = 0  # palettes made so far: 1 for a still scene, one per frame with keep_levels=0
        self._palette: Image.Image | None = None
        self._palette_shape: tuple[int, ...] | None = None
        self._indices: np.ndarray | None = None
        self._reference: np.ndarray | None = None  # each pixel's colour when its index was chosen

    @classmethod
    def for_keep_levels(cls, keep_levels: int) -> "StableQuantizer":
        """The default palette tolerance with ``keep_levels``; 0 turns both off."""
        return cls(palette_tolerance=PALETTE_TOLERANCE if keep_levels else 0.0, keep_levels=keep_levels)

    def _choose_palette(self, image: Image.Image, rgb: np.ndarray) -> bool:
        """Keep the current palette or take a fresh one; True when it changed."""
        fresh = image.quantize(colors=PALETTE_COLOURS, method=Image.Quantize.MEDIANCUT)
        if self._palette is not None and self._palette_shape == rgb.shape and self.palette_tolerance > 0:
            current = image.quantize(palette=self._palette, dither=Image.Dither.NONE)
            if _squared_error(current, rgb) <= (1 + self.palette_tolerance) * _squared_error(fresh, rgb):
                return False
        entries = (fresh.getpalette() or [0, 0, 0])[: 3 * PALETTE_COLOURS]
        # unused entries repeat colour 0: padding with black would let dark pixels map to
        # index 255, which GIF readers then show as transparent
        fresh.putpalette(entries + entries[:3] * (256 - len(entries) // 3))
        self._palette, self._palette_shape = fresh, rgb.shape
        self.palettes += 1
        return True

    def __call__(self, rgb: np.ndarray, transparent: np.ndarray | None = None) -> Image.Image:
        image = Image.fromarray(rgb)
        changed = self._choose_palette(image, rgb.astype(np.float32))
        indices = np.array(image.quantize(palette=self._palette, dither=Image.Dither.FLOYDSTEINBERG))
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
