"""Running the transform network on frames: batching, padding, devices, precision, and
frames larger than memory.

Frames are (H, W, 3) uint8 arrays. They are reflection-padded to a multiple of 4 (the
network halves the size twice and doubles it back) and at least 16 pixels, run in
batches on the chosen device, and cropped back — the picture is never shifted. A frame
that would not fit in the device's memory runs in tiles (:mod:`.tiling`); ``style_scale``
runs the network on a resized copy and resizes the result back, which sets the size of
the strokes independently of the output's size.
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ConfigError, DeviceError
from .devices import half_dtype, resolve_device
from .memory import check_frame_fits, fits_in_tiles
from .tiling import TILE, stylize_tiled
from .transformer_net import TransformerNet

log = logging.getLogger(__name__)

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
    ``half=True`` runs in bf16 (CPU with native bf16, CUDA with bf16) or fp16 (other
    CUDA GPUs, MPS); where neither is native a DeviceError says so. Memory layout:
    channels_last on CUDA and for bf16 on the CPU, where it is faster; NCHW for fp32 on
    the CPU, where channels_last measured slower.

    Size: ``max_pixels`` is the largest frame run whole (None: what the device's memory
    holds, :mod:`.memory`); larger frames run in tiles of ``tile`` px (None: the largest
    that fit). ``style_scale`` (e.g. 0.5: strokes twice as large) runs the network on the
    frame resized by that factor.
    """

    def __init__(self, model: TransformerNet, device: str = "auto", batch_size: int | None = None,
                 half: bool = False, max_pixels: int | None = None, tile: int | None = None,
                 style_scale: float = 1.0):
        self.device = resolve_device(device)
        self.max_pixels = max_pixels
        self.tile = tile
        if not 0.05 <= style_scale <= 8:
            raise ConfigError(f"style scale must be between 0.05 and 8, got {style_scale}")
        self.style_scale = style_scale
        self._plans: dict[tuple[int, int, int], int | None] = {}
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

    def _network_size(self, width: int, height: int) -> tuple[int, int]:
        if self.style_scale == 1.0:
            return width, height
        return max(1, round(width * self.style_scale)), max(1, round(height * self.style_scale))

    def tile_for(self, width: int, height: int, batch: int | None = None) -> int | None:
        """The tile side frames of this size run in (None: whole), decided once per size;
        DeviceError when even tiles would not fit."""
        key = (width, height, batch or self.batch_size)
        if key not in self._plans:
            w, h = self._network_size(width, height)
            channels = getattr(self.model, "architecture", {}).get("channels", 32)
            if self.tile:
                check_frame_fits(self.tile, self.tile, self.device, self.dtype, 1, channels, self.max_pixels)
                self._plans[key] = self.tile
            else:
                try:
                    check_frame_fits(w, h, self.device, self.dtype, key[2], channels, self.max_pixels)
                    self._plans[key] = None
                except DeviceError:
                    # too large to run whole: in tiles, when the frame's tiled run fits
                    if self.max_pixels or not fits_in_tiles(w, h, self.device, self.dtype, channels):
                        raise
                    self._plans[key] = TILE
                    log.info("%dx%d frames run in tiles of %d px (too large to run whole here)", w, h, TILE)
        return self._plans[key]

    def check_size(self, width: int, height: int, batch: int | None = None) -> None:
        """DeviceError (with the size, the limit and the --max-size that fits) when frames of
        this size cannot be stylized here, whole or in tiles."""
        self.tile_for(width, height, batch)

    @torch.no_grad()
    def tensor(self, batch: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) float 0–255 on any device -> stylized, same size, clamped 0–255, fp32."""
        h, w = batch.shape[-2:]
        tile = self.tile_for(w, h, batch.shape[0])
        x = batch.to(self.device, torch.float32)
        if self.style_scale != 1.0:
            nw, nh = self._network_size(w, h)
            mode = "area" if self.style_scale < 1 else "bicubic"
            x = F.interpolate(x, size=(nh, nw), mode=mode, **({} if mode == "area" else {"align_corners": False}))
        if tile is None:
            y = self._whole(x)
        else:
            y = torch.cat([self._tiled(frame[None], tile) for frame in x])
        if self.style_scale != 1.0:
            y = F.interpolate(y.float(), size=(h, w), mode="bicubic", align_corners=False)
        return y.float().clamp_(0, 255)

    def _layout(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.dtype)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def _tiled(self, x: torch.Tensor, tile: int) -> torch.Tensor:
        x, (h, w) = pad(x)
        return stylize_tiled(self.model, self._layout(x), tile)[..., :h, :w]

    def _whole(self, x: torch.Tensor) -> torch.Tensor:
        x, (h, w) = pad(x)
        return self.model(self._layout(x))[..., :h, :w]

    def __call__(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for start in range(0, len(frames), self.batch_size):
            chunk = np.stack(frames[start:start + self.batch_size])
            batch = torch.from_numpy(chunk).permute(0, 3, 1, 2)
            y = self.tensor(batch.float())
            result = y.round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
            out.extend(np.ascontiguousarray(r) for r in result)
        return out
