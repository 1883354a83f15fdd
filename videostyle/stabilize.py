"""Test-time stabilization for any model (``videostyle run --stabilize STRENGTH``).

Each stylized frame is blended with the previous *output* warped onto it along the
optical flow of the original frames, wherever the occlusion mask says the pixel was
visible in both: ``out = (1 - s) * stylized + s * warped_previous``. Where the mask
covers less than ``min_coverage`` of the frame (a scene cut), the frame is left as is.
Costs two optical-flow computations per frame.
"""

from __future__ import annotations

import numpy as np

from .flow import optical_flow, valid_mask, warp


class Stabilizer:
    """Callable ``(original_rgb, stylized_rgb) -> rgb``, fed the frames in display order."""

    def __init__(self, strength: float = 0.5, min_coverage: float = 0.5):
        if not 0 < strength <= 1:
            raise ValueError(f"strength must be in (0, 1], got {strength}")
        self.strength = strength
        self.min_coverage = min_coverage
        self._previous: tuple[np.ndarray, np.ndarray] | None = None

    def __call__(self, original: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        out = stylized
        if self._previous is not None and self._previous[0].shape == original.shape:
            previous_original, previous_output = self._previous
            to_previous = optical_flow(original, previous_original)
            from_previous = optical_flow(previous_original, original)
            mask = valid_mask(to_previous, from_previous)
            if mask.mean() >= self.min_coverage:
                warped = warp(previous_output, to_previous)
                s = self.strength * mask[..., None].astype(np.float32)
                out = ((1 - s) * stylized + s * warped + 0.5).clip(0, 255).astype(np.uint8)
        self._previous = (original, out)
        return out
