"""YUV <-> RGB on the device the network runs on, with the matrix and range of the
stream's colour tags (BT.601/BT.709/BT.2020, limited/full), as libswscale converts them.

On a GPU this moves 4:2:0 planes (half the bytes of RGB) across the bus and replaces two
swscale passes on the CPU; on a CPU swscale's SIMD code is faster
(``benchmarks/pipeline_speed.py``), so the CPU path keeps it. Chroma is upsampled by
repetition and downsampled by 2x2 means: on the test frames of ``tests/test_yuv.py``
both directions agree with swscale within one grey level.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..media.colour import LUMA_WEIGHTS


def _scales(full_range: bool) -> tuple[float, float, float]:
    """(luma offset, luma scale, chroma scale) in code values per unit."""
    return (0.0, 255.0, 255.0) if full_range else (16.0, 219.0, 224.0)


def yuv420_to_rgb(y: torch.Tensor, u: torch.Tensor, v: torch.Tensor, matrix: str = "bt601",
                  full_range: bool = False) -> torch.Tensor:
    """``y`` (B, H, W), ``u``/``v`` (B, ceil(H/2), ceil(W/2)), uint8 -> RGB (B, 3, H, W)
    float on the 0-255 scale, clamped."""
    kr, kb = LUMA_WEIGHTS[matrix]
    kg = 1.0 - kr - kb
    offset, luma, chroma = _scales(full_range)
    h, w = y.shape[-2:]
    yn = (y.float() - offset) / luma
    pb = (u.float() - 128.0) / chroma
    pr = (v.float() - 128.0) / chroma
    pb = pb.repeat_interleave(2, -2).repeat_interleave(2, -1)[..., :h, :w]
    pr = pr.repeat_interleave(2, -2).repeat_interleave(2, -1)[..., :h, :w]
    r = yn + 2 * (1 - kr) * pr
    b = yn + 2 * (1 - kb) * pb
    g = (yn - kr * r - kb * b) / kg
    return (torch.stack([r, g, b], 1) * 255.0).clamp_(0, 255)


def rgb_to_yuv420(rgb: torch.Tensor, matrix: str = "bt601",
                  full_range: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """RGB (B, 3, H, W) on the 0-255 scale -> uint8 planes ``y`` (B, H, W) and ``u``/``v``
    (B, ceil(H/2), ceil(W/2)), chroma the mean of each 2x2 block (edge pixels repeated)."""
    kr, kb = LUMA_WEIGHTS[matrix]
    kg = 1.0 - kr - kb
    offset, luma, chroma = _scales(full_range)
    r, g, b = (rgb.float() / 255.0).unbind(1)
    yn = kr * r + kg * g + kb * b
    pb = (b - yn) / (2 * (1 - kb))
    pr = (r - yn) / (2 * (1 - kr))
    h, w = rgb.shape[-2:]
    pad = (0, w % 2, 0, h % 2)
    pb = F.avg_pool2d(F.pad(pb[:, None], pad, mode="replicate"), 2)[:, 0]
    pr = F.avg_pool2d(F.pad(pr[:, None], pad, mode="replicate"), 2)[:, 0]

    def code(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
        return x.round_().clamp_(lo, hi).to(torch.uint8)

    top = 255.0 if full_range else 235.0
    chroma_top = 255.0 if full_range else 240.0
    return (code(offset + luma * yn, 0 if full_range else 16, top),
            code(128.0 + chroma * pb, 0 if full_range else 16, chroma_top),
            code(128.0 + chroma * pr, 0 if full_range else 16, chroma_top))
