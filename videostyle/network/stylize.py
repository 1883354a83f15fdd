"""Running the transform network on frames: batching, padding, devices, precision.

Frames are (H, W, 3) uint8 arrays. They are reflection-padded to a multiple of 4 (the
network halves the size twice and doubles it back) and at least 16 pixels, run in
batches on the chosen device, and cropped back — the picture is never shifted or
scaled.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import DeviceError
from .devices import half_dtype, resolve_device
from .memory import check_frame_fits
from .transformer_net import TransformerNet

MULTIPLE = 4
MIN_SIDE = 16


def pad_amounts(height: int, width: int) -> tuple[int, int]:
    """(bottom, right) padding that makes both sides multiples of 4 and at least 16."""
    def need(n: int) -> int:
        target = max(MIN_SIDE, -(-n // MULTIPLE) * MULTIPLE)
        return target - n
    return need(height), need(width)


def pad(batch: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
    h, w = batch.shape[-2:]
    bottom, right = pad_amounts(h, w)
    if bottom or right:
        mode = "reflect" if bottom < h and right < w else "replicate"
        batch = F.pad(batch, (0, right, 0, bottom), mode=mode)
    return batch, (h, w)


def default_batch_size(device: torch.device) -> int:
    """Frames per network call: 1 on CPUs (measured fastest: batching only adds memory
    traffic there, see benchmarks/RESULTS.md), 8 on GPUs."""
    return 1 if device.type == "cpu" else 8


class Stylizer:
    """Callable: a list of equally sized uint8 frames in, the stylized frames out.

    ``batch_size``: frames per network call (None: :func:`default_batch_size`).
    ``max_pixels``: the largest frame it stylizes (None: what the device's memory holds,
    :mod:`.memory`); :meth:`check_size` says so before any work, and every call checks.
    ``half=True`` runs in bf16 (CPU with native bf16, CUDA with bf16) or fp16 (other
    CUDA GPUs, MPS); where neither is native a DeviceError says so. Memory layout:
    channels_last on CUDA and for bf16 on the CPU, where it is faster; NCHW for fp32 on
    the CPU, where channels_last measured slower.
    """

    def __init__(self, model: TransformerNet, device: str = "auto", batch_size: int | None = None,
                 half: bool = False, max_pixels: int | None = None):
        self.device = resolve_device(device)
        self.max_pixels = max_pixels
        self._checked: set[tuple[int, int, int]] = set()
        self.batch_size = batch_size or default_batch_size(self.device)
        try:
            self.dtype = half_dtype(self.device) if half else torch.float32
        except DeviceError as error:
            raise DeviceError(f"{error.reason}; drop --half") from error
        self.model = model.to(self.device).eval().requires_grad_(False)
        self.channels_last = self.device.type == "cuda" or (self.device.type == "cpu" and self.dtype == torch.bfloat16)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.model = self.model.to(self.dtype)

    def check_size(self, width: int, height: int, batch: int | None = None) -> None:
        """DeviceError (with the size, the limit and the --max-size that fits) when frames of
        this size would not fit in the device's memory or exceed ``max_pixels``."""
        key = (width, height, batch or self.batch_size)
        if key in self._checked:
            return
        channels = getattr(self.model, "architecture", {}).get("channels", 32)
        check_frame_fits(width, height, self.device, self.dtype, key[2], channels, self.max_pixels)
        self._checked.add(key)

    @torch.no_grad()
    def tensor(self, batch: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) float 0–255 on any device -> stylized, same size, clamped 0–255, fp32."""
        self.check_size(batch.shape[-1], batch.shape[-2], batch.shape[0])
        x, (h, w) = pad(batch.to(self.device, torch.float32))
        x = x.to(self.dtype)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        y = self.model(x)[..., :h, :w]
        return y.float().clamp_(0, 255)

    def __call__(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for start in range(0, len(frames), self.batch_size):
            chunk = np.stack(frames[start:start + self.batch_size])
            batch = torch.from_numpy(chunk).permute(0, 3, 1, 2)
            y = self.tensor(batch.float())
            result = y.round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
            out.extend(np.ascontiguousarray(r) for r in result)
        return out
