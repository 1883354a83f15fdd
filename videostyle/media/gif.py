"""Animated GIF output, streamed frame by frame.

Each frame gets an adaptive 255-colour median-cut palette with Floyd–Steinberg
dithering (so gradients do not band) that stays put from frame to frame where the
picture does (:mod:`videostyle.palette`), its own delay from the pts of the next frame
(the last one from its own duration), the input's loop count, and binary transparency
re-applied from the input's alpha mask (disposal "restore to background", so a
transparent pixel never shows the previous frame). Between opaque frames with the same
palette, pixels that are drawn exactly as before are written as transparent, so the
previous frame shows through and the file shrinks. Pillow's LZW coder writes each
frame's data; the file is written as frames arrive, so memory does not grow with the
animation's length.

Note: FFmpeg's GIF demuxer (used for decoding) reads a delay under 2 centiseconds as
10 — what browsers do — so such frames come out with a 100 ms delay.
"""

from __future__ import annotations

import logging
import os
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import GifImagePlugin, Image

from ..errors import InputError
from .frames import Frame
from .palette import TRANSPARENT_INDEX, StableQuantizer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GifScan:
    """What a GIF's blocks say: the NETSCAPE2.0 loop count (0 loops forever, N repeats N
    more times, None plays once), how many images it holds, and whether its trailer is
    there (a GIF without one was cut short)."""

    loop: int | None
    images: int
    complete: bool


def scan_gif(path: str | os.PathLike) -> GifScan:
    """Walk a GIF's blocks without decoding them; InputError if it is not a GIF."""
    data = Path(path).read_bytes()
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        raise InputError("not a GIF file", path)
    loop, images = None, 0
    pos = 13
    flags = data[10]
    if flags & 0x80:
        pos += 3 * (2 << (flags & 7))
    while pos < len(data):
        block = data[pos]
        if block == 0x3B:  # trailer
            return GifScan(loop, images, True)
        if block == 0x21:  # extension: label, then sub-blocks
            label = data[pos + 1] if pos + 1 < len(data) else 0
            pos += 2
            first = True
            while pos < len(data) and data[pos]:
                size = data[pos]
                chunk = data[pos + 1:pos + 1 + size]
                if label == 0xFF and first and chunk[:11] in (b"NETSCAPE2.0", b"ANIMEXTS1.0") and loop is None:
                    sub = data[pos + 1 + size:pos + 1 + size + 4]
                    if len(sub) == 4 and sub[0] == 3 and sub[1] == 1:
                        loop = struct.unpack("<H", sub[2:4])[0]
                first = False
                pos += 1 + size
            pos += 1
        elif block == 0x2C:  # image: descriptor, optional local table, LZW data
            if pos + 10 > len(data):
                break
            flags = data[pos + 9]
            pos += 10
            if flags & 0x80:
                pos += 3 * (2 << (flags & 7))
            pos += 1  # LZW minimum code size
            while pos < len(data) and data[pos]:
                pos += 1 + data[pos]
            pos += 1
            if pos <= len(data):
                images += 1
        else:
            break
    return GifScan(loop, images, False)


def read_loop_count(path: str | os.PathLike) -> int | None:
    """The NETSCAPE2.0 loop count of a GIF (see :class:`GifScan`)."""
    return scan_gif(path).loop


class GifSink:
    """Streaming GIF writer (a :class:`videostyle.pipeline.file.Sink`); see the module
    docstring. ``loop`` as in :func:`read_loop_count`. A GIF holds no sound or subtitles:
    packets given to :meth:`write_packet` are counted in ``packets_left_out``."""

    def __init__(self, path: str | os.PathLike, size: tuple[int, int], loop: int | None,
                 quantizer: StableQuantizer | None = None):
        self.path = Path(path)
        self.quantizer = quantizer if quantizer is not None else StableQuantizer()
        self.size = size
        self._file = open(self.path, "wb")
        header = b"GIF89a" + struct.pack("<HHBBB", size[0], size[1], 0x70, 0, 0)
        if loop is not None:
            header += b"!\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", loop) + b"\x00"
        self._file.write(header)
        self._pending: tuple[Image.Image, int, int] | None = None
        self._shown: tuple[np.ndarray, list[int]] | None = None  # last opaque frame: indices, palette
        self.frames_written = 0
        self.unchanged_pixels = 0
        self.packets_left_out = 0
        self.delays_cs: list[int] = []
        self._last: Frame | None = None

    def write_frame(self, frame: Frame, rgb: np.ndarray) -> None:
        """Add ``rgb`` with ``frame``'s start time and transparency."""
        self._last = frame
        self._add(rgb, frame.alpha, frame.pts, frame.time_base)

    def write_packet(self, packet) -> None:
        self.packets_left_out += 1

    def _add(self, rgb: np.ndarray, alpha: np.ndarray | None, pts: int, time_base: Fraction) -> None:
        start_cs = round(pts * time_base * 100)
        transparent = alpha < 128 if alpha is not None else None
        if transparent is not None and not transparent.any():
            transparent = None
        if self._pending is not None:
            if transparent is not None:  # this frame's holes must not show the one before
                self._pending = (self._pending[0], 2, self._pending[2])
            self._emit(start_cs - self._pending[2])
        image = self.quantizer(rgb, transparent)
        if transparent is not None:  # holes show the background: this frame is cleared after display
            self._shown = None
            self._pending = (image, 2, start_cs)
            return
        indices, palette = np.asarray(image), image.getpalette()
        shown, self._shown = self._shown, (indices, palette)
        unchanged = (shown[0] == indices) if shown is not None and shown[1] == palette else None
        if unchanged is None or not unchanged.any():
            self._pending = (image, 1, start_cs)
            return
        # pixels that would be drawn as they already are become transparent: the previous
        # frame (kept on screen, disposal 1) shows through, and the LZW data shrinks
        self.unchanged_pixels += int(unchanged.sum())
        data = np.where(unchanged, TRANSPARENT_INDEX, indices).astype(np.uint8)
        diff = Image.fromarray(data, mode="P")
        diff.putpalette(palette)
        self._pending = (diff, 1, start_cs)

    def _emit(self, delay_cs: int) -> None:
        image, disposal, _ = self._pending
        if delay_cs < 2:
            log.warning("%s: frame %d lasts %d cs; browsers show delays under 2 cs as 10 cs",
                        self.path, self.frames_written, delay_cs)
        # every frame names index 255 as transparent (no opaque pixel uses it): then readers
        # such as Pillow, not only browsers and FFmpeg, clear a disposed frame to transparent
        params = {"include_color_table": True, "duration": max(delay_cs, 0) * 10,
                  "disposal": disposal, "transparency": TRANSPARENT_INDEX}
        for chunk in GifImagePlugin.getdata(image, **params):
            self._file.write(chunk)
        self.delays_cs.append(delay_cs)
        self.frames_written += 1
        self._pending = None

    def close(self) -> None:
        """Write the last frame (lasting its own duration, or as long as the frame before
        it when that is unknown) and the trailer."""
        last_duration = self._last.duration if self._last else None
        try:
            if self._pending is not None:
                if last_duration is not None:
                    delay = round(last_duration * self._last.time_base * 100)
                else:
                    delay = self.delays_cs[-1] if self.delays_cs else 10
                self._emit(delay)
            self._file.write(b";")
        finally:
            self._file.close()

    def abort(self) -> None:
        self._file.close()
