"""What real footage does to frames where nothing moves, applied to synthetic pairs.

- ``compress_pairs`` (``finetune --compressed-pairs``): each frame JPEG-compressed on its
  own at an independent random quality: codec noise differs from frame to frame, and the
  network must not turn it into texture that moves.
- ``gif_pairs`` (``--gif-pairs``): each frame quantized to its own GIF palette with
  dithering: the dither of animated GIFs changes between frames where nothing moves.
- ``drift_pairs`` (``--brightness-drift``): frame 2 gets a smooth random brightness field
  (features 8-64 px): exposure, lighting and codec changes make real frames differ by a
  grey level or two where nothing moves, and the networks answer such smooth changes
  with far more texture change than pixel noise of the same energy.

None of them moves anything, so the flow and mask of the pair stay valid. With a share
(or std) of 0 nothing is drawn from the random generator.
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..network.tensors import to_tensor, to_uint8

JPEG_QUALITY = (25, 90)  # range of the independent per-frame qualities of compressed pairs


def jpeg(image: torch.Tensor, quality: int) -> torch.Tensor:
    """A (3, H, W) image in [0, 1] after a JPEG round trip at ``quality`` (Pillow)."""
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return to_tensor(decoded.convert("RGB"))


def compress_pairs(first: torch.Tensor, second: torch.Tensor, share: float, rng: np.random.Generator):
    """In ``share`` of the pairs (CPU tensors), JPEG-compress each frame at its own random
    quality in ``JPEG_QUALITY``."""
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
    paletted = Image.fromarray(to_uint8(image)).quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                               dither=Image.Dither.FLOYDSTEINBERG)
    return to_tensor(paletted.convert("RGB"))


def gif_pairs(first: torch.Tensor, second: torch.Tensor, share: float, rng: np.random.Generator):
    """In ``share`` of the pairs (CPU tensors), each frame becomes a GIF frame on its own
    (:func:`gif_frame`): as in animated GIFs, the palette and the dither pattern change
    between the frames even where nothing moves."""
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
    standard deviation is drawn uniformly from [0, ``std``]."""
    if not std:
        return second
    b, _, h, w = second.shape
    drifted = second.clone()
    for i in range(b):
        feature_px = float(np.exp(rng.uniform(*np.log(DRIFT_FEATURE_PX))))
        amplitude = float(rng.uniform(0, std))
        drifted[i] = (second[i] + amplitude * brightness_field(h, w, feature_px, rng)).clamp(0, 1)
    return drifted

