"""What decoding yields: a frame with its own timing, what a video stream is, and how
large a frame may be decoded."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

DECODE_PIXELS = 120_000_000  # default limit on a decoded frame's size (px): about 0.5 GB as RGBA


def megapixels(width: int, height: int) -> str:
    return f"{width}x{height} ({width * height / 1e6:.1f} megapixels)"


@dataclass
class Frame:
    """One decoded picture. ``rgb`` is (H, W, 3) uint8, already upright; ``alpha`` is
    (H, W) uint8 for formats with transparency (GIF), else None. Time is
    ``pts * time_base`` seconds; ``duration`` is in the same units (None if unknown).
    A source asked for planes (:meth:`VideoSource.yield_planes`) gives ``planes``, the
    upright Y, U, V of 4:2:0 (:mod:`.planes`), and ``rgb`` None."""

    rgb: np.ndarray | None
    pts: int
    time_base: Fraction
    duration: int | None
    index: int
    alpha: np.ndarray | None = None
    planes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


@dataclass
class VideoInfo:
    path: Path
    container: str
    codec: str
    width: int  # stored (coded) size, before rotation
    height: int
    rotation: int  # display-matrix rotation in degrees, 0/90/180/270 (ffmpeg's sign, mod 360):
    # 270 (read as -90) means the stored picture is shown turned 90° clockwise
    time_base: Fraction
    sample_aspect_ratio: Fraction | None
    average_rate: Fraction | None
    frame_count: int | None  # from the header, or estimated from duration; None if unknown
    duration_s: float | None
    pix_fmt: str
    colorspace: int
    color_range: int
    color_primaries: int
    color_trc: int
    has_alpha: bool
    frame_size: tuple[int, int]  # upright (width, height) of the frames this source yields
    passthrough: list = field(default_factory=list)  # audio/subtitle av streams

    @property
    def upright_size(self) -> tuple[int, int]:
        """(width, height) as displayed, before any --max-size scaling."""
        return (self.height, self.width) if self.rotation % 180 else (self.width, self.height)
