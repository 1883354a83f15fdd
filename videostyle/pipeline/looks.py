"""What the user turns after training: how strong the style is, and whether the input's
colours stay.

- ``strength`` blends the stylized frame with the input: ``s * stylized + (1 - s) * input``
  (0 gives the input back, 1 the plain output).
- ``preserve_color`` keeps the input's colours and takes only the stylized luminance
  (Gatys et al. 2016, *Preserving Color in Neural Artistic Style Transfer*): the frame is
  converted to YCbCr with the matrix the output is stored in (BT.709 for HD video tagged
  so, BT.601 otherwise — what JPEG and most SD video use), Y is taken from the stylized
  frame and Cb, Cr from the input. ``"histogram"`` also matches the stylized luminance's
  mean and spread to the input's, so the picture keeps its brightness.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..media.colour import LUMA_WEIGHTS


def to_ycbcr(rgb: np.ndarray, matrix: str) -> np.ndarray:
    """(..., 3) RGB (any scale) to full-range Y, Cb, Cr on the same scale, Cb/Cr centred on 0."""
    kr, kb = LUMA_WEIGHTS[matrix]
    r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
    y = kr * r + (1 - kr - kb) * g + kb * b
    return np.stack([y, (b - y) / (2 * (1 - kb)), (r - y) / (2 * (1 - kr))], axis=-1)


def to_rgb(ycc: np.ndarray, matrix: str) -> np.ndarray:
    kr, kb = LUMA_WEIGHTS[matrix]
    y, cb, cr = ycc[..., 0], ycc[..., 1], ycc[..., 2]
    r = y + 2 * (1 - kr) * cr
    b = y + 2 * (1 - kb) * cb
    g = (y - kr * r - kb * b) / (1 - kr - kb)
    return np.stack([r, g, b], axis=-1)


@dataclass(frozen=True)
class Look:
    """Callable ``(original_rgb, stylized_rgb) -> rgb`` on uint8 frames; identity with the
    defaults. ``matrix``: the YCbCr matrix of the output
    (:func:`videostyle.media.colour.matrix_for`)."""

    strength: float = 1.0
    preserve_color: str | None = None
    matrix: str = "bt601"

    @property
    def active(self) -> bool:
        return self.strength != 1.0 or self.preserve_color is not None

    def with_matrix(self, matrix: str) -> "Look":
        return Look(self.strength, self.preserve_color, matrix)

    def __call__(self, original: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        if not self.active:
            return stylized
        out = stylized.astype(np.float32)
        if self.preserve_color:
            styled, source = to_ycbcr(out, self.matrix), to_ycbcr(original, self.matrix)
            luma = styled[..., 0]
            if self.preserve_color == "histogram":
                spread = luma.std()
                luma = (luma - luma.mean()) * (source[..., 0].std() / spread if spread > 0 else 1.0) + source[..., 0].mean()
            out = to_rgb(np.stack([luma, source[..., 1], source[..., 2]], axis=-1), self.matrix)
        if self.strength != 1.0:
            out = self.strength * out + (1 - self.strength) * original.astype(np.float32)
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)
