"""Test-time stabilization for any model (``videostyle run --stabilize STRENGTH``).

Each stylized frame is blended with the previous *output* warped onto it along the
optical flow of the original frames, wherever the occlusion mask says the pixel was
visible in both: ``out = (1 - s) * stylized + s * warped_previous``. Costs two
optical-flow computations per frame.

A scene cut is left as is: a frame where the mask covers less than ``min_coverage`` of
the frame *and* the two original frames are not alike (correlation of their slightly
blurred grey levels below ``min_correlation``). Low coverage alone is not a cut: on dark
or nearly flat footage, such as a fade from black, the flow fails its consistency check
almost everywhere while the frames show the same scene; checking coverage alone
stabilized none of those frames (74 % of the frames of a one-second fade-in).

In clips with transparency the original frames are given as the network saw them
(alpha flattened onto white), with their alpha: the mask then also drops pixels that
are transparent, or whose alpha changes along the flow, exactly as the flicker metric
does, so no pixel is blended with the output of a hole it has just left.
"""

from __future__ import annotations

import numpy as np

from .flow import flow_and_mask, is_scene_cut, warp


class Stabilizer:
    """Callable ``(original_rgb, stylized_rgb, alpha=None) -> rgb``, fed the frames in
    display order. ``cuts`` counts the frames left as is because they start a new scene."""

    def __init__(self, strength: float = 0.5, min_coverage: float = 0.5, min_correlation: float = 0.5):
        if not 0 < strength <= 1:
            raise ValueError(f"strength must be in (0, 1], got {strength}")
        self.strength = strength
        self.min_coverage = min_coverage
        self.min_correlation = min_correlation
        self.cuts = 0
        self._previous: tuple[np.ndarray, np.ndarray | None, np.ndarray] | None = None

    def is_cut(self, mask: np.ndarray, original: np.ndarray, previous_original: np.ndarray) -> bool:
        return is_scene_cut(mask, original, previous_original, self.min_coverage, self.min_correlation)

    def __call__(self, original: np.ndarray, stylized: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
        out = stylized
        if self._previous is not None and self._previous[0].shape == original.shape:
            previous_original, previous_alpha, previous_output = self._previous
            to_previous, mask = flow_and_mask(original, previous_original, alpha, previous_alpha)
            if self.is_cut(mask, original, previous_original):
                self.cuts += 1
            else:
                warped = warp(previous_output, to_previous)
                s = self.strength * mask[..., None].astype(np.float32)
                out = ((1 - s) * stylized + s * warped + 0.5).clip(0, 255).astype(np.uint8)
        self._previous = (original, alpha, out)
        return out
