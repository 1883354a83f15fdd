"""How large a frame the network can stylize here, and a clear error instead of an
allocation failure deep inside PyTorch.

The transform network's peak memory grows with the frame's pixels: measured on the CPU
(32 channels, 5 residual blocks, one frame) it holds about 1,040 bytes per pixel in fp32
and 545 in bf16 at 1024x1024 (``benchmarks/RESULTS.md``), scaled here by the network's
width. The budget is the device's available memory (MemAvailable on Linux, free memory on
a CUDA GPU) less a margin; ``--max-pixels`` replaces it.
"""

from __future__ import annotations

import os

import torch

from ..errors import DeviceError
from .devices import describe_precision

BYTES_PER_PIXEL = {torch.float32: 1100, torch.bfloat16: 600, torch.float16: 600}  # at 32 channels, with headroom
TILED_BYTES_PER_PIXEL = 220  # fp32, tiled (network/tiling.py): 186 measured at 3840x2160
REFERENCE_CHANNELS = 32
USABLE_SHARE = 0.8  # of the available memory, for the network


def available_bytes(device: torch.device) -> int | None:
    """Memory the network may still take on ``device``; None where it cannot be told."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type == "cpu":
        try:
            with open("/proc/meminfo") as fh:
                for line in fh:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    return None


def bytes_per_pixel(dtype: torch.dtype, channels: int = REFERENCE_CHANNELS) -> float:
    return BYTES_PER_PIXEL.get(dtype, BYTES_PER_PIXEL[torch.float32]) * channels / REFERENCE_CHANNELS


def pixel_budget(device: torch.device, dtype: torch.dtype, batch: int, channels: int = REFERENCE_CHANNELS) -> int | None:
    """The largest frame (pixels) that fits ``batch`` times on ``device``; None if unknown."""
    free = available_bytes(device)
    if free is None:
        return None
    return int(free * USABLE_SHARE / (bytes_per_pixel(dtype, channels) * max(batch, 1)))


def check_frame_fits(width: int, height: int, device: torch.device, dtype: torch.dtype, batch: int,
                     channels: int = REFERENCE_CHANNELS, max_pixels: int | None = None) -> None:
    """DeviceError, naming the size, the limit and what to do, when a frame of
    ``width`` x ``height`` would not fit; ``max_pixels`` replaces the measured budget."""
    pixels = width * height
    limit = max_pixels or pixel_budget(device, dtype, batch, channels)
    if limit is None or pixels <= limit:
        return
    need = pixels * bytes_per_pixel(dtype, channels) * max(batch, 1) / 2 ** 30
    if max_pixels:
        why = f"over the limit of {max_pixels / 1e6:.1f} megapixels set by --max-pixels"
    else:
        why = (f"would need about {need:.1f} GiB for the network ({describe_precision(device, dtype if dtype != torch.float32 else None)}"
               f", batch {batch}), and {available_bytes(device) / 2 ** 30:.1f} GiB is available")
    side = int((limit / pixels) ** 0.5 * max(width, height))
    raise DeviceError(f"a {width}x{height} frame ({pixels / 1e6:.1f} megapixels) {why}; "
                      f"stylize it smaller with --max-size {max(side // 16 * 16, 16)} or less")


def fits_in_tiles(width: int, height: int, device: torch.device, dtype: torch.dtype,
                  channels: int = REFERENCE_CHANNELS) -> bool:
    """Whether :func:`~videostyle.network.tiling.stylize_tiled` can hold this frame here."""
    free = available_bytes(device)
    scale = bytes_per_pixel(dtype, channels) / BYTES_PER_PIXEL[torch.float32]
    return free is None or width * height * TILED_BYTES_PER_PIXEL * scale <= free * USABLE_SHARE
