"""The one scene-cut rule, shared by the flicker metric, ``--stabilize`` and real-video
training pairs.

Across a hard cut no pixel of frame t+1 was visible in frame t, so the occlusion mask of
the flow between them should be nearly empty; but the forward-backward check passes
wherever DIS returns two smooth, mutually consistent flows between unrelated pictures,
so coverage alone is no test, and on dark or nearly flat footage (a fade from black) the
flow fails almost everywhere while the frames show the same scene. A pair is a cut when
the mask covers under half the frame, the frames' blurred grey levels do not correlate,
and both frames show a picture: a fade from a frame that is black but for noise is no
cut, since its flash is flicker a viewer sees.
"""

from __future__ import annotations

import cv2
import numpy as np

MIN_COVERAGE = 0.5  # share of the frame the occlusion mask keeps, below which a cut is possible
MIN_CORRELATION = 0.5  # grey-level correlation of the two frames below which they are two scenes
MIN_PICTURE_STD = 4.0  # RGB levels (0-255): below it a frame is black or flat but for noise
BLUR_PX = 2.0


def frame_correlation(a: np.ndarray, b: np.ndarray, blur_px: float = BLUR_PX) -> float:
    """Pearson correlation of the grey levels of RGB frames ``a`` and ``b`` after a Gaussian
    blur (codec noise aside, the same scene correlates even when the flow fails); 0 when
    either frame is flat."""
    grey = [cv2.GaussianBlur(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), blur_px).ravel()
            for f in (a, b)]
    if grey[0].std() == 0 or grey[1].std() == 0:
        return 0.0
    return float(np.corrcoef(grey[0], grey[1])[0, 1])


def is_scene_cut(mask: np.ndarray, a: np.ndarray, b: np.ndarray) -> bool:
    """Whether RGB frames ``a`` and ``b`` (``mask``: the occlusion mask of the flow between
    them) are two scenes; see the module docstring."""
    # the coverage test is the cheap one and rarely passes: correlation and the standard
    # deviations are computed only for the pairs it lets through
    return bool(mask.mean() < MIN_COVERAGE and frame_correlation(a, b) < MIN_CORRELATION
                and min(float(a.std()), float(b.std())) >= MIN_PICTURE_STD)
