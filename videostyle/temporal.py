"""Frame pairs with known motion, and the temporal losses that use them.

Without videos, pairs come from photos: frame 2 is frame 1 resampled along a random
smooth flow (translation, zoom, rotation and a smooth elastic field), so the flow from
frame 2 back to frame 1 and its mask (pixels that come from inside frame 1) are exact.
With ``Motion.object_probability`` (``finetune --moving-objects``), that share of the
pairs also gets an object, an ellipse cut from another photo of the batch (radii drawn
from ``Motion.object_radius``, ``--object-radius``) that moves on its own over the
background (as in FlyingChairs, Dosovitskiy et al. 2015): real footage has such
independent motion, and the network has to keep the background's texture still next
to it. Its flow is exact too; the mask drops the background that the object uncovers
and a band along the object's edge.
With ``compressed_share`` (``finetune --compressed-pairs``), that share of the
synthetic pairs has each frame JPEG-compressed on its own, at an independent random
quality: real footage carries codec noise that differs from frame to frame, and the
network must not turn it into texture that moves.
With ``drift_std`` (``finetune --brightness-drift``), frame 2 of each synthetic pair
also gets a smooth random brightness field (features 8-64 px, amplitude up to the given
standard deviation): exposure, lighting and codec changes make real frames differ by a
grey level or two where nothing moves, and the networks answer such smooth changes with
far more texture change than they answer pixel noise of the same energy.
With videos, consecutive frames of real clips are paired, with DIS flow and the
occlusion mask of the flicker metric (:mod:`videostyle.flow`).

Convention as in :mod:`videostyle.flow`: ``frame2(x) ≈ frame1(x + flow(x))``.
"""

from __future__ import annotations

import io
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .data import to_tensor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Motion:
    """Ranges of the random motion between synthetic frames (pixels at the crop size);
    ``object_probability`` of the pairs also get an object moving by up to
    ``object_shift_px`` on its own, an ellipse whose radii are drawn from ``object_radius``
    (fractions of the crop's shorter side)."""

    max_shift_px: float = 6.0
    max_zoom: float = 0.04
    max_rotation_deg: float = 3.0
    elastic_px: float = 2.0
    elastic_grid: int = 4
    object_probability: float = 0.0
    object_shift_px: float = 12.0
    object_radius: tuple[float, float] = (0.1, 0.3)  # ellipse radii, fractions of the crop's shorter side


def pixel_grid(height: int, width: int, like: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(ys, xs): each pixel's row and column, (H, W), on ``like``'s device and dtype
    (default: float32 on the CPU)."""
    options = {"device": like.device, "dtype": like.dtype} if like is not None else {"dtype": torch.float32}
    return torch.meshgrid(torch.arange(height, **options), torch.arange(width, **options), indexing="ij")


def warp_tensor(images: torch.Tensor, flow: torch.Tensor, padding: str = "border") -> torch.Tensor:
    """Sample (B, C, H, W) ``images`` at ``x + flow(x)``; ``flow`` is (B, H, W, 2) in pixels."""
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
    second = warp_tensor(frames, flow, padding="reflection")
    mask = inside(flow)
    if not motion.object_probability:  # no draw either: runs without objects repeat exactly as before
        return frames, second, flow, mask
    with_object = rng.random(b) < motion.object_probability
    if not with_object.any():
        return frames, second, flow, mask
    return add_moving_objects(frames, second, flow, mask, torch.from_numpy(with_object), motion, rng)


JPEG_QUALITY = (25, 90)  # range of the independent per-frame qualities of compressed pairs


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """A (3, H, W) image in [0, 1] as an (H, W, 3) uint8 array, rounding half up, as in the
    measured --compressed-pairs and GIF-pairs runs (plotting.to_pil rounds half to even)."""
    return (image.permute(1, 2, 0).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)


def jpeg(image: torch.Tensor, quality: int) -> torch.Tensor:
    """A (3, H, W) image in [0, 1] after a JPEG round trip at ``quality`` (Pillow)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return to_tensor(decoded.convert("RGB"))


def compress_pairs(first: torch.Tensor, second: torch.Tensor, share: float, rng: np.random.Generator):
    """In ``share`` of the pairs (CPU tensors), JPEG-compress each frame at its own random
    quality in ``JPEG_QUALITY``. Flow and mask stay valid: compression moves nothing.
    With share 0 nothing is drawn, so runs without it repeat exactly as before."""
    if not share:
        return first, second
    first, second = first.clone(), second.clone()
    for i in range(first.shape[0]):
        if rng.random() < share:
            q1, q2 = rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1, size=2)
            first[i], second[i] = jpeg(first[i], q1), jpeg(second[i], q2)
    return first, second


def gif_frame(image: torch.Tensor) -> torch.Tensor:
    """A (3, H, W) image in [0, 1] as a frame of an animated GIF: quantized to its own
    256-colour adaptive palette (median cut) with Floyd–Steinberg dithering (Pillow)."""
    from PIL import Image

    paletted = Image.fromarray(to_uint8(image)).quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                               dither=Image.Dither.FLOYDSTEINBERG)
    return to_tensor(paletted.convert("RGB"))


def gif_pairs(first: torch.Tensor, second: torch.Tensor, share: float, rng: np.random.Generator):
    """In ``share`` of the pairs (CPU tensors), each frame becomes a GIF frame on its own
    (:func:`gif_frame`): as in animated GIFs, the palette and the dither pattern change
    between the frames even where nothing moves (28 % of the still pixels of
    newtonscradle.gif change, mostly by 1-5 levels, from one frame to the next). Flow and mask
    stay valid. With share 0 nothing is drawn, so runs without it repeat exactly."""
    if not share:
        return first, second
    take = rng.random(first.shape[0]) < share
    if not take.any():
        return first, second
    first, second = first.clone(), second.clone()
    for i in np.flatnonzero(take):
        first[i], second[i] = gif_frame(first[i]), gif_frame(second[i])
    return first, second


DRIFT_FEATURE_PX = (8.0, 64.0)  # range of the brightness field's feature size, drawn log-uniformly


def brightness_field(height: int, width: int, feature_px: float, rng: np.random.Generator) -> torch.Tensor:
    """A (H, W) smooth random field of unit standard deviation: Gaussian values every
    ``feature_px`` pixels, interpolated bicubically, at a random phase."""
    rows, cols = math.ceil(height / feature_px) + 4, math.ceil(width / feature_px) + 4
    grid = torch.from_numpy(rng.standard_normal((1, 1, rows, cols)).astype(np.float32))
    full = F.interpolate(grid, size=(round(rows * feature_px), round(cols * feature_px)), mode="bicubic",
                         align_corners=False)[0, 0]
    top = int(rng.integers(int(feature_px), full.shape[0] - height - int(feature_px) + 1))
    left = int(rng.integers(int(feature_px), full.shape[1] - width - int(feature_px) + 1))
    field = full[top:top + height, left:left + width]
    return (field - field.mean()) / field.std().clamp_min(1e-6)


def drift_pairs(second: torch.Tensor, std: float, rng: np.random.Generator) -> torch.Tensor:
    """Frame 2 of each pair (a CPU batch in [0, 1]) plus a smooth grey brightness field whose
    standard deviation is drawn uniformly from [0, ``std``]. Flow and mask stay valid:
    nothing moves. With std 0 nothing is drawn, so runs without it repeat exactly."""
    if not std:
        return second
    b, _, h, w = second.shape
    drifted = second.clone()
    for i in range(b):
        feature_px = float(np.exp(rng.uniform(*np.log(DRIFT_FEATURE_PX))))
        amplitude = float(rng.uniform(0, std))
        drifted[i] = (second[i] + amplitude * brightness_field(h, w, feature_px, rng)).clamp(0, 1)
    return drifted


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
    alpha2 = warp_tensor(alpha1, object_flow, padding="zeros")
    texture2 = warp_tensor(texture, object_flow, padding="reflection")
    first = frames * (1 - alpha1) + texture * alpha1
    second = background2 * (1 - alpha2) + texture2 * alpha2
    on_object = alpha2 > 0.5
    flow = torch.where(on_object.permute(0, 2, 3, 1), object_flow, background_flow)
    covered_before = warp_tensor(alpha1, background_flow, padding="zeros")  # frame 1's alpha at each source point
    uncovered = ((alpha2 <= 0.5) & (covered_before > 0.01)).float()
    edges = (((alpha2 > 0.01) & (alpha2 < 0.99)) | ((covered_before > 0.01) & (covered_before < 0.99))).float()
    edges = F.max_pool2d(edges, kernel_size=5, stride=1, padding=2)
    mask = torch.where(on_object, inside(object_flow), background_mask) * (1 - uncovered) * (1 - edges)
    return first, second, flow, mask


def output_temporal_loss(out1: torch.Tensor, out2: torch.Tensor, flow: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked mean of (O2 − warp(O1))² over pixels and channels, outputs in [0, 1]."""
    warped = warp_tensor(out1.float(), flow)
    diff = (out2.float() - warped) ** 2 * mask
    return diff.sum() / (mask.sum() * out1.shape[1]).clamp_min(1)


def feature_temporal_loss(feat1: torch.Tensor, feat2: torch.Tensor, flow: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The same on encoder features (ReCoNet): flow and mask resized to the feature grid;
    divided by the features' mean square so the weight does not depend on their scale."""
    h, w = feat1.shape[-2:]
    scale_y, scale_x = h / flow.shape[1], w / flow.shape[2]
    small = F.interpolate(flow.permute(0, 3, 1, 2), size=(h, w), mode="bilinear", align_corners=True)
    small = torch.stack([small[:, 0] * scale_x, small[:, 1] * scale_y], dim=-1)
    small_mask = -F.adaptive_max_pool2d(-mask, (h, w))  # a feature cell counts only if all its pixels do
    warped = warp_tensor(feat1.float(), small)
    diff = (feat2.float() - warped) ** 2 * small_mask
    value = diff.sum() / (small_mask.sum() * feat1.shape[1]).clamp_min(1)
    return value / feat1.float().pow(2).mean().detach().clamp_min(1e-8)


def noise_stability_loss(out_clean: torch.Tensor, out_noisy: torch.Tensor) -> torch.Tensor:
    """Mean square change of the output under small input noise (Gupta et al. 2017)."""
    return F.mse_loss(out_noisy.float(), out_clean.float())


class VideoPairs:
    """Consecutive-frame pairs from real clips, cropped to ``size`` with DIS flow and the
    metric's occlusion mask (transparent pixels and moving hole edges included);
    ``pairs_per_clip`` pairs are drawn from each clip once, and those that are scene cuts
    by the metric's rule are left out (across a cut no flow is right)."""

    def __init__(self, folder: str | os.PathLike, size: int, seed: int, pairs_per_clip: int = 24):
        from .decode import VideoSource
        from .flicker import is_cut
        from .flow import flow_and_mask
        from .pipeline import VIDEO_EXTENSIONS, GIF_EXTENSIONS, flatten_alpha

        rng = np.random.default_rng([seed, 7])
        self.pairs: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]] = []
        cuts = 0
        clips = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS | GIF_EXTENSIONS)
        for clip in clips:
            try:
                with VideoSource(clip, max_size=max(2 * size, 320)) as source:
                    frames = [(flatten_alpha(f.rgb, f.alpha), f.alpha) for f in source if hasattr(f, "rgb")]
            except Exception as error:  # a clip that cannot be read is reported and left out
                log.warning("leaving video %s out of the frame pairs (%s)", clip, error)
                continue
            if len(frames) < 2 or min(frames[0][0].shape[:2]) < size:
                continue
            for t in rng.choice(len(frames) - 1, size=min(pairs_per_clip, len(frames) - 1), replace=False):
                height, width = frames[t][0].shape[:2]
                y0 = int(rng.integers(0, height - size + 1))
                x0 = int(rng.integers(0, width - size + 1))
                crop = lambda x: None if x is None else np.ascontiguousarray(x[y0:y0 + size, x0:x0 + size])  # noqa: E731
                a, alpha_a = map(crop, frames[t])
                b, alpha_b = map(crop, frames[t + 1])
                # frame2(x) ≈ frame1(x + flow); the metric's mask, transparency included
                flow, mask = flow_and_mask(b, a, alpha_b, alpha_a)
                if is_cut(mask, b, a):
                    cuts += 1
                    continue
                self.pairs.append((to_tensor(a), to_tensor(b), torch.from_numpy(flow),
                                   torch.from_numpy(mask.astype(np.float32))[None]))
        if not self.pairs:
            from .errors import DataError
            raise DataError(f"no usable video clips (at least 2 frames, {size} px) found", folder)
        log.info("%d real frame pairs from %d clips (%d scene cuts left out)", len(self.pairs), len(clips), cuts)

    def sample(self, count: int, rng: np.random.Generator):
        picks = [self.pairs[i] for i in rng.integers(0, len(self.pairs), size=count)]
        return tuple(torch.stack(parts) for parts in zip(*picks))
