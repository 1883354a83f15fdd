"""Optical flow, the one warp, and occlusion masks (no downloaded weights needed).

Flow comes from OpenCV's DIS optical flow (``opencv-python-headless``). Convention: the
flow ``F`` from frame A to frame B satisfies ``A(x) ≈ B(x + F(x))``, so :func:`warp`
``(B, F)`` brings B back onto A's pixel grid. One bilinear warp serves everything:
tensors in training (:func:`warp`), and numpy frames in the flicker metric, the
occlusion masks and ``--stabilize`` (:func:`warp_array`, the same function). Occlusions
follow Ruder et al. (2016), as used by Lai et al. (2018): a pixel is not trusted where
the forward and backward flows disagree, or on a motion boundary.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

# Ruder et al. 2016 thresholds (flow in pixels)
CONSISTENCY_RELATIVE = 0.01
CONSISTENCY_ABSOLUTE = 0.5
BOUNDARY_RELATIVE = 0.01
BOUNDARY_ABSOLUTE = 0.002
# alpha (0-255) may change by this much along the flow before a pixel counts as occluded
ALPHA_TOLERANCE = 8

_DIS = None


def optical_flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(H, W, 2) float32 flow from RGB uint8 frame ``a`` to ``b`` (DIS, "medium" preset)."""
    global _DIS
    if _DIS is None:
        _DIS = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    gray_a = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY)
    gray_b = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY)
    return _DIS.calc(gray_a, gray_b, None)


def pixel_grid(height: int, width: int, like: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(ys, xs): each pixel's row and column, (H, W), on ``like``'s device and dtype
    (default: float32 on the CPU)."""
    options = {"device": like.device, "dtype": like.dtype} if like is not None else {"dtype": torch.float32}
    return torch.meshgrid(torch.arange(height, **options), torch.arange(width, **options), indexing="ij")


def warp(images: torch.Tensor, flow: torch.Tensor, padding: str = "border") -> torch.Tensor:
    """Sample (B, C, H, W) ``images`` at ``x + flow(x)`` (bilinear); ``flow`` is (B, H, W, 2)
    in pixels. ``padding``: "border" repeats the edge, as a camera that pans would show
    more of the same; "reflection" and "zeros" as in ``grid_sample``."""
    b, _, h, w = images.shape
    ys, xs = pixel_grid(h, w, flow)
    gx = (xs + flow[..., 0]) * (2 / max(w - 1, 1)) - 1
    gy = (ys + flow[..., 1]) * (2 / max(h - 1, 1)) - 1
    grid = torch.stack([gx, gy], dim=-1).to(images.dtype)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode=padding, align_corners=True)


def inside(flow: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) float mask: 1 where ``x + flow(x)`` lies inside the frame."""
    _, h, w, _ = flow.shape
    ys, xs = pixel_grid(h, w, flow)
    x, y = xs + flow[..., 0], ys + flow[..., 1]
    return ((x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)).float()[:, None]


def warp_array(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """:func:`warp` for one numpy picture: (H, W) or (H, W, C) of any dtype and (H, W, 2)
    flow in, float32 of the same shape out, edges repeated."""
    planes = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))
    planes = planes[None, None] if planes.dim() == 2 else planes.permute(2, 0, 1)[None]
    out = warp(planes, torch.from_numpy(np.ascontiguousarray(flow, dtype=np.float32))[None])[0]
    return (out[0] if image.ndim == 2 else out.permute(1, 2, 0)).numpy()


def inside_mask(flow: np.ndarray) -> np.ndarray:
    """True where ``x + flow(x)`` lands inside the frame (numpy, (H, W, 2) flow)."""
    return inside(torch.from_numpy(np.ascontiguousarray(flow, dtype=np.float32))[None])[0, 0].numpy() > 0


def valid_mask(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """True where ``forward`` (A→B) can be trusted: consistent with ``backward`` (B→A),
    not on a motion boundary, and landing inside B."""
    back_at_target = warp_array(backward, forward)
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
    return (a > 0) & (np.abs(warp_array(b, forward) - a) <= ALPHA_TOLERANCE)


def flow_and_mask(a: np.ndarray, b: np.ndarray, alpha_a: np.ndarray | None = None,
                  alpha_b: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The flow from RGB frame ``a`` to ``b`` and where it can be trusted: the flicker
    metric's occlusion mask (:func:`valid_mask`, and :func:`alpha_mask` when the frames
    have alpha). Shared by the metric, real-video training pairs and ``--stabilize``."""
    forward = optical_flow(a, b)
    return forward, valid_mask(forward, optical_flow(b, a)) & alpha_mask(alpha_a, alpha_b, forward)
