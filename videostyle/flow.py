"""Optical flow, warping and occlusion masks (no downloaded weights needed).

Flow comes from OpenCV's DIS optical flow (``opencv-python-headless``). Convention: the
flow ``F`` from frame A to frame B satisfies ``A(x) ≈ B(x + F(x))``, so :func:`warp`
``(B, F)`` brings B back onto A's pixel grid. Occlusions follow Ruder et al. (2016), as
used by Lai et al. (2018): a pixel is not trusted where the forward and backward flows
disagree, or on a motion boundary. :func:`is_scene_cut` tells a scene cut from footage
the flow cannot follow (used by :mod:`videostyle.stabilize`, the flicker metric and
real-video training pairs).
"""

from __future__ import annotations

import numpy as np

# Ruder et al. 2016 thresholds (flow in pixels)
CONSISTENCY_RELATIVE = 0.01
CONSISTENCY_ABSOLUTE = 0.5
BOUNDARY_RELATIVE = 0.01
BOUNDARY_ABSOLUTE = 0.002
# alpha (0-255) may change by this much along the flow before a pixel counts as occluded
ALPHA_TOLERANCE = 8


def _cv2():
    try:
        import cv2
    except ImportError as error:  # pragma: no cover - a core dependency
        from .errors import ConfigError
        raise ConfigError("optical flow needs OpenCV: pip install opencv-python-headless") from error
    return cv2


_DIS = None


def optical_flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(H, W, 2) float32 flow from RGB uint8 frame ``a`` to ``b`` (DIS, "medium" preset)."""
    global _DIS
    cv2 = _cv2()
    if _DIS is None:
        _DIS = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    gray_a = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY)
    gray_b = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY)
    return _DIS.calc(gray_a, gray_b, None)


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` sampled at ``x + flow(x)`` (bilinear, border replicated); float32 out."""
    cv2 = _cv2()
    h, w = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image.astype(np.float32), grid_x + flow[..., 0], grid_y + flow[..., 1],
                     interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def inside_mask(flow: np.ndarray) -> np.ndarray:
    """True where ``x + flow(x)`` lands inside the frame."""
    h, w = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    x, y = grid_x + flow[..., 0], grid_y + flow[..., 1]
    return (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)


def valid_mask(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """True where ``forward`` (A→B) can be trusted: consistent with ``backward`` (B→A),
    not on a motion boundary, and landing inside B."""
    back_at_target = warp(backward, forward)
    total = forward + back_at_target
    consistent = (total ** 2).sum(-1) <= CONSISTENCY_RELATIVE * (
        (forward ** 2).sum(-1) + (back_at_target ** 2).sum(-1)) + CONSISTENCY_ABSOLUTE
    du_y, du_x = np.gradient(forward[..., 0])
    dv_y, dv_x = np.gradient(forward[..., 1])
    boundary = du_x ** 2 + du_y ** 2 + dv_x ** 2 + dv_y ** 2 > BOUNDARY_RELATIVE * (forward ** 2).sum(-1) + BOUNDARY_ABSOLUTE
    return consistent & ~boundary & inside_mask(forward)


def alpha_mask(alpha_a: np.ndarray | None, alpha_b: np.ndarray | None, forward: np.ndarray) -> np.ndarray:
    """True where frame A's pixel shows something (not fully transparent) and keeps its
    alpha at ``x + forward(x)`` in frame B. Where the alpha changes along the flow, the
    pixel moved into or out of a transparent area: it is occluded, like a pixel that
    leaves the frame. All True for opaque video (``None``)."""
    if alpha_a is None and alpha_b is None:
        return np.ones(forward.shape[:2], dtype=bool)
    full = np.full(forward.shape[:2], 255, np.float32)
    a = full if alpha_a is None else alpha_a.astype(np.float32)
    b = full if alpha_b is None else alpha_b.astype(np.float32)
    return (a > 0) & (np.abs(warp(b, forward) - a) <= ALPHA_TOLERANCE)


def flow_and_mask(a: np.ndarray, b: np.ndarray, alpha_a: np.ndarray | None = None,
                  alpha_b: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The flow from RGB frame ``a`` to ``b`` and where it can be trusted: the flicker
    metric's occlusion mask (:func:`valid_mask`, and :func:`alpha_mask` when the frames
    have alpha). Shared by the metric, real-video training pairs and ``--stabilize``."""
    forward = optical_flow(a, b)
    return forward, valid_mask(forward, optical_flow(b, a)) & alpha_mask(alpha_a, alpha_b, forward)


def frame_correlation(a: np.ndarray, b: np.ndarray, blur_px: float = 2.0) -> float:
    """Pearson correlation of the grey levels of RGB frames ``a`` and ``b`` after a Gaussian
    blur (codec noise aside, the same scene correlates even when the flow fails); 0 when
    either frame is flat."""
    cv2 = _cv2()
    grey = [cv2.GaussianBlur(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), blur_px).ravel()
            for f in (a, b)]
    if grey[0].std() == 0 or grey[1].std() == 0:
        return 0.0
    return float(np.corrcoef(grey[0], grey[1])[0, 1])


def is_scene_cut(mask: np.ndarray, a: np.ndarray, b: np.ndarray, min_coverage: float = 0.5,
                 min_correlation: float = 0.5) -> bool:
    """Whether RGB frames ``a`` and ``b``, with ``mask`` the occlusion mask of the flow
    between them, are two scenes: the mask covers under ``min_coverage`` of the frame
    *and* the frames do not correlate (:func:`frame_correlation` below
    ``min_correlation``). Low coverage alone is no cut: on dark or nearly flat footage,
    such as a fade from black, the flow fails its check almost everywhere while the
    frames show the same scene."""
    return bool(mask.mean() < min_coverage and frame_correlation(a, b) < min_correlation)
