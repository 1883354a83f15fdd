"""Test-time stabilization for any model (``videostyle run --stabilize STRENGTH``).

Each stylized frame is blended with the previous *output* warped onto it along the
optical flow of the original frames, wherever the occlusion mask says the pixel was
visible in both: ``out = (1 - s) * stylized + s * warped_previous``. Costs two
optical-flow computations per frame.

At a scene cut (:mod:`videostyle.temporal.cuts`, the rule the flicker metric uses) the
stabilizer starts again: the first frame of the new scene is left as is.

In clips with transparency the original frames are given as the network saw them
(alpha flattened onto white), with their alpha: the mask then also drops pixels that
are transparent, or whose alpha changes along the flow, exactly as the flicker metric
does, so no pixel is blended with the output of a hole it has just left.
"""

from __future__ import annotations

import logging

import numpy as np

from .cuts import is_scene_cut
from .flow import flow_and_mask, warp_array

log = logging.getLogger(__name__)


class Stabilizer:
    """Callable ``(original_rgb, stylized_rgb, alpha=None) -> rgb``, fed the frames in
    display order. ``cuts`` counts the frames left as is because they start a new scene."""

    def __init__(self, strength: float = 0.5):
        if not 0 < strength <= 1:
            raise ValueError(f"strength must be in (0, 1], got {strength}")
        self.strength = strength
        self.cuts = 0
        self.frames = 0
        self._previous: tuple[np.ndarray, np.ndarray | None, np.ndarray] | None = None

    def __call__(self, original: np.ndarray, stylized: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
        out = stylized
        if self._previous is not None and self._previous[0].shape == original.shape:
            previous_original, previous_alpha, previous_output = self._previous
            to_previous, mask = flow_and_mask(original, previous_original, alpha, previous_alpha)
            if is_scene_cut(mask, original, previous_original):
                self.cuts += 1
                log.info("scene cut before frame %d: the stabilizer starts again", self.frames)
            else:
                warped = warp_array(previous_output, to_previous)
                s = self.strength * mask[..., None].astype(np.float32)
                out = ((1 - s) * stylized + s * warped + 0.5).clip(0, 255).astype(np.uint8)
        self._previous = (original, alpha, out)
        self.frames += 1
        return out
