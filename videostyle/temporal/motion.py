"""Synthetic frame pairs with known motion, made from photos.

Frame 2 is frame 1 resampled along a random smooth flow (translation, zoom, rotation
and a smooth elastic field), so the flow from frame 2 back to frame 1 and its mask
(pixels that come from inside frame 1) are exact. With ``Motion.object_probability``
(``finetune --moving-objects``), that share of the pairs also gets an object, an
ellipse cut from another photo of the batch (radii drawn from ``Motion.object_radius``,
``--object-radius``) that moves on its own over the background (as in FlyingChairs,
Dosovitskiy et al. 2015): real footage has such independent motion, and the network
has to keep the background's texture still next to it. Its flow is exact too; the mask
drops the background that the object uncovers and a band along the object's edge.

Convention as in :mod:`videostyle.temporal.flow`: ``frame2(x) ≈ frame1(x + flow(x))``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..config import Motion
from .flow import inside, pixel_grid, warp


def random_flow(batch: int, height: int, width: int, motion: Motion, rng: np.random.Generator) -> torch.Tensor:
    """(B, H, W, 2) smooth random flows: affine (shift, zoom, rotation about the centre)
    plus a bicubic-upsampled random displacement grid."""
    ys, xs = pixel_grid(height, width)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    flows = []
    for _ in range(batch):
        scale = 1 + rng.uniform(-motion.max_zoom, motion.max_zoom)
        angle = math.radians(rng.uniform(-motion.max_rotation_deg, motion.max_rotation_deg))
        tx, ty = rng.uniform(-motion.max_shift_px, motion.max_shift_px, size=2)
        cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
        x, y = xs - cx, ys - cy
        fx = cos * x - sin * y + cx + tx - xs
        fy = sin * x + cos * y + cy + ty - ys
        g = motion.elastic_grid
        coarse = torch.from_numpy(rng.normal(0, motion.elastic_px, size=(1, 2, g, g)).astype(np.float32))
        fine = F.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=True)[0]
        flows.append(torch.stack([fx + fine[0], fy + fine[1]], dim=-1))
    return torch.stack(flows)


def synthetic_pairs(frames: torch.Tensor, motion: Motion, rng: np.random.Generator):
    """(frame1, frame2, flow 2→1, mask) for a (B, 3, H, W) batch of photos in [0, 1]."""
    b, _, h, w = frames.shape
    flow = random_flow(b, h, w, motion, rng).to(frames.device)
    second = warp(frames, flow, padding="reflection")
    mask = inside(flow)
    if not motion.object_probability:  # nothing drawn, so the rng stream is that of a run without objects
        return frames, second, flow, mask
    with_object = rng.random(b) < motion.object_probability
    if not with_object.any():
        return frames, second, flow, mask
    return add_moving_objects(frames, second, flow, mask, torch.from_numpy(with_object), motion, rng)



def ellipse_alpha(batch: int, height: int, width: int, rng: np.random.Generator,
                  radius: tuple[float, float] = Motion.object_radius) -> torch.Tensor:
    """(B, 1, H, W) random rotated ellipses, opaque inside with a one-pixel antialiased
    edge, whose radii are drawn from ``radius`` times the shorter side (the default
    covers about 3–30 % of the frame)."""
    ys, xs = pixel_grid(height, width)
    alphas = []
    for _ in range(batch):
        cx, cy = rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height
        rx, ry = rng.uniform(radius[0], radius[1], size=2) * min(height, width)
        rx, ry = max(rx, 1.0), max(ry, 1.0)
        angle = rng.uniform(0, math.pi)
        u = (xs - cx) * math.cos(angle) + (ys - cy) * math.sin(angle)
        v = -(xs - cx) * math.sin(angle) + (ys - cy) * math.cos(angle)
        distance = torch.sqrt((u / rx) ** 2 + (v / ry) ** 2)
        alphas.append(((1 - distance) * min(rx, ry) + 0.5).clamp(0, 1))
    return torch.stack(alphas)[:, None]


def add_moving_objects(frames: torch.Tensor, background2: torch.Tensor, background_flow: torch.Tensor,
                       background_mask: torch.Tensor, with_object: torch.Tensor, motion: Motion,
                       rng: np.random.Generator):
    """Paste an independently moving object into the pairs where ``with_object`` is set.

    The object's texture is another photo of the batch (mirrored, so a batch of one
    works too), its alpha an ellipse, its own motion an affine flow of up to
    ``object_shift_px``. Frame 2 shows the background moved by ``background_flow`` and
    the object moved by its flow on top. The returned flow is the object's where
    frame 2 shows the object and the background's elsewhere; the mask keeps pixels
    whose source lies inside frame 1 and was not covered by the object there, minus a
    two-pixel band along both frames' object edges.
    """
    b, _, h, w = frames.shape
    device = frames.device
    texture = frames.roll(1, dims=0).flip(-1)
    alpha1 = ellipse_alpha(b, h, w, rng, motion.object_radius).to(device)
    alpha1 = alpha1 * with_object.to(device).float()[:, None, None, None]
    own = Motion(max_shift_px=motion.object_shift_px, max_zoom=motion.max_zoom,
                 max_rotation_deg=2 * motion.max_rotation_deg, elastic_px=0.0, elastic_grid=2)
    object_flow = random_flow(b, h, w, own, rng).to(device)
    alpha2 = warp(alpha1, object_flow, padding="zeros")
    texture2 = warp(texture, object_flow, padding="reflection")
    first = frames * (1 - alpha1) + texture * alpha1
    second = background2 * (1 - alpha2) + texture2 * alpha2
    on_object = alpha2 > 0.5
    flow = torch.where(on_object.permute(0, 2, 3, 1), object_flow, background_flow)
    covered_before = warp(alpha1, background_flow, padding="zeros")  # frame 1's alpha at each source point
    uncovered = ((alpha2 <= 0.5) & (covered_before > 0.01)).float()
    edges = (((alpha2 > 0.01) & (alpha2 < 0.99)) | ((covered_before > 0.01) & (covered_before < 0.99))).float()
    edges = F.max_pool2d(edges, kernel_size=5, stride=1, padding=2)
    mask = torch.where(on_object, inside(object_flow), background_mask) * (1 - uncovered) * (1 - edges)
    return first, second, flow, mask

