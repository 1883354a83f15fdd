"""NVIDIA's hardware encoders (NVENC) in place of libx264/libx265 when the network runs on
a CUDA GPU: there the network outruns libx264 at 1080p, so the CPU encoder would set the
pace. Whether NVENC opens depends on the driver and the GPU, not on the PyAV build (which
lists ``h264_nvenc`` everywhere), so it is probed once per process by opening it."""

from __future__ import annotations

import functools
import logging
from fractions import Fraction

import av

log = logging.getLogger(__name__)

HARDWARE_TWIN = {"libx264": "h264_nvenc", "libx265": "hevc_nvenc"}


@functools.cache
def opens(codec: str) -> str | None:
    """None when ``codec`` opens here, else FFmpeg's reason (probed once per process)."""
    try:
        context = av.CodecContext.create(codec, "w")
        context.width, context.height, context.pix_fmt = 256, 256, "yuv420p"
        context.time_base = Fraction(1, 25)
        context.open()
        return None
    except (av.FFmpegError, ValueError, OSError) as error:
        return str(error)


def quality_options(crf: int) -> dict[str, str]:
    """Constant-quality VBR (``-rc vbr -cq``), NVENC's counterpart of a CRF; ``preset p5``
    ("slow", still far faster than the network) and no bitrate cap."""
    return {"rc": "vbr", "cq": str(crf), "b": "0", "preset": "p5"}


@functools.cache
def _said(message: str) -> None:
    log.info(message)


def hardware_codec(software: str) -> str:
    """``software``'s NVENC twin where it opens here, else ``software`` (logged once)."""
    twin = HARDWARE_TWIN.get(software)
    if twin is None:
        return software
    reason = opens(twin)
    if reason is None:
        _said(f"encoding with {twin} (the GPU's encoder) instead of {software}")
        return twin
    _said(f"{twin} cannot open here ({reason}); encoding with {software} on the CPU")
    return software
