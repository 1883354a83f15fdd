"""Streaming decode with PyAV: open → demux → decode, one frame at a time.

:class:`VideoSource` yields, in demux order, :class:`Frame` objects for the video
stream (upright RGB, each with its own pts and time base) and the raw ``av.Packet`` of
every audio and subtitle stream, for the encoder to copy or transcode;
:meth:`VideoSource.frames` yields the frames alone. Frames are never collected: memory
does not grow with the video's length.
"""

from __future__ import annotations

import collections
import logging
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from ..errors import InputError
from .colour import reformat_options

log = logging.getLogger(__name__)


@dataclass
class Frame:
    """One decoded picture. ``rgb`` is (H, W, 3) uint8, already upright; ``alpha`` is
    (H, W) uint8 for formats with transparency (GIF), else None. Time is
    ``pts * time_base`` seconds; ``duration`` is in the same units (None if unknown)."""

    rgb: np.ndarray
    pts: int
    time_base: Fraction
    duration: int | None
    index: int
    alpha: np.ndarray | None = None


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


def open_container(path: str | os.PathLike):
    """``av.open`` with the errors a user sees turned into InputError."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path)
    if path.is_dir():
        raise InputError("is a folder; pass the folder itself as INPUT to convert what is inside", path)
    if path.stat().st_size == 0:
        raise InputError("empty file", path)
    try:
        return av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise InputError(f"not a readable video or image ({reason})", path) from error


def scaled_size(width: int, height: int, max_size: int | None, even: bool = False) -> tuple[int, int]:
    """Size with the long side at most ``max_size`` (aspect kept, rounded); ``even`` rounds
    each side to a multiple of 2 (for 4:2:0 encoders)."""
    if not max_size or max(width, height) <= max_size:
        return width, height
    scale = max_size / max(width, height)
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    if even:
        w, h = max(2, w - w % 2), max(2, h - h % 2)
    return w, h


class VideoSource:
    """Context manager over one input video or animated GIF.

    ``max_size`` downscales the long side of every frame (upright orientation);
    ``even`` makes that scaled size even. Use as ``with VideoSource(p) as src: for item in src``.
    """

    def __init__(self, path: str | os.PathLike, max_size: int | None = None, even: bool = False,
                 threads: bool = True):
        self.path = Path(path)
        self.max_size = max_size
        self.even = even
        self.threads = threads
        self._container = None
        self._pending: collections.deque = collections.deque()
        self._items: Iterator | None = None
        self.info: VideoInfo | None = None
        self.frames_decoded = 0

    def __enter__(self) -> "VideoSource":
        self._container = open_container(self.path)
        try:
            self._open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def _open(self) -> None:
        container = self._container
        pictures = av.stream.Disposition.attached_pic | av.stream.Disposition.timed_thumbnails
        candidates = [s for s in container.streams.video if not s.disposition & pictures]
        if not candidates:
            kinds = sorted({s.type for s in container.streams}) or ["none"]
            what = ", ".join(kinds) + (" (a cover picture only)" if container.streams.video else "")
            raise InputError(f"no video stream (streams found: {what})", self.path)
        # the default-flagged stream first, then the largest
        video = max(candidates, key=lambda s: (bool(s.disposition & av.stream.Disposition.default),
                                               (s.codec_context.width or 0) * (s.codec_context.height or 0)))
        if self.threads:
            video.thread_type = "AUTO"
        self._video = video
        passthrough = [s for s in container.streams if s.type in ("audio", "subtitle")]
        ignored = [s for s in container.streams if s is not video and s not in passthrough]
        for s in ignored:
            level = logging.WARNING if s.type == "video" else logging.INFO
            log.log(level, "%s: stream #%d (%s) is not carried over", self.path, s.index, s.type)
        self._items = self._demux([video, *passthrough])
        first = None
        for item in self._items:  # decode up to the first frame, to learn rotation and format
            self._pending.append(item)
            if isinstance(item, Frame):
                first = item
                break
        if first is None:
            raise InputError("no video frames could be decoded (empty or truncated video stream)", self.path)
        cc = video.codec_context
        frame_count = video.frames or None
        duration_s = float(video.duration * video.time_base) if video.duration else (
            container.duration / av.time_base if container.duration else None)
        if frame_count is None and duration_s and video.average_rate:
            frame_count = int(round(duration_s * float(video.average_rate)))
        self.info = VideoInfo(
            path=self.path, container=container.format.name, codec=cc.name,
            width=self._first_av.width, height=self._first_av.height, rotation=self._rotation,
            time_base=video.time_base, sample_aspect_ratio=video.sample_aspect_ratio or cc.sample_aspect_ratio or None,
            average_rate=video.average_rate, frame_count=frame_count, duration_s=duration_s,
            pix_fmt=self._first_av.format.name, colorspace=int(self._first_av.colorspace),
            color_range=int(self._first_av.color_range), color_primaries=int(self._first_av.color_primaries),
            color_trc=int(self._first_av.color_trc), has_alpha=first.alpha is not None,
            frame_size=(first.rgb.shape[1], first.rgb.shape[0]), passthrough=passthrough)

    def _demux(self, streams) -> Iterator:
        video = streams[0]
        try:
            for packet in self._container.demux(streams):
                if packet.stream.index != video.index:
                    if packet.dts is not None and packet.size:
                        yield packet
                    continue
                for frame in packet.decode():
                    yield self._convert(frame)
        except av.FFmpegError as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise InputError(f"decoding failed after {self.frames_decoded} frames ({reason}); "
                             "the file may be truncated or corrupt", self.path) from error

    def _convert(self, frame: av.VideoFrame) -> Frame:
        if self.frames_decoded == 0:
            self._first_av = frame
            rotation = frame.rotation or 0
            if round(rotation) % 90:
                raise InputError(f"display rotation of {rotation} degrees is not a multiple of 90", self.path)
            self._rotation = int(round(rotation)) % 360
            self._alpha = any(c.is_alpha for c in frame.format.components) or frame.format.has_palette
        turns = self._rotation // 90
        w, h = (frame.height, frame.width) if turns % 2 else (frame.width, frame.height)
        w, h = scaled_size(w, h, self.max_size, self.even)
        if turns % 2:
            w, h = h, w
        kwargs = reformat_options(frame.colorspace, frame.color_range, "src")
        fmt = "rgba" if self._alpha else "rgb24"
        if (w, h) != (frame.width, frame.height):
            kwargs.update(width=w, height=h, interpolation="AREA")
        array = frame.reformat(format=fmt, **kwargs).to_ndarray()
        if turns:
            array = np.rot90(array, turns)  # -90 (stored 270) -> 3 quarter turns = 90° clockwise
        rgb, alpha = (array[..., :3], array[..., 3]) if self._alpha else (array, None)
        pts = frame.pts if frame.pts is not None else frame.dts
        if pts is None:
            raise InputError(f"frame {self.frames_decoded} has no timestamp", self.path)
        result = Frame(np.ascontiguousarray(rgb), int(pts), frame.time_base, frame.duration or None,
                       self.frames_decoded, None if alpha is None else np.ascontiguousarray(alpha))
        self.frames_decoded += 1
        return result

    def __iter__(self) -> Iterator[Frame | av.Packet]:
        """Frames and the audio/subtitle packets, in demux order."""
        while self._pending:
            yield self._pending.popleft()
        yield from self._items

    def frames(self) -> Iterator[Frame]:
        """The video frames alone, for readers that carry no other stream."""
        return (item for item in self if isinstance(item, Frame))

