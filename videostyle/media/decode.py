"""Streaming decode with PyAV: open → demux → decode, one frame at a time.

:class:`VideoSource` yields, in demux order, :class:`Frame` objects for the video
stream (upright RGB, each with its own pts and time base) and the raw ``av.Packet`` of
every audio and subtitle stream, for the encoder to copy or transcode;
:meth:`VideoSource.frames` yields the frames alone. Frames are never collected: memory
does not grow with the video's length.

Every frame in gives one frame out, or the source says why not. A damaged or truncated
file (:mod:`.integrity`: a packet the decoder refuses, fewer frames than packets or than
the index counts, a container cut short) raises an InputError naming what was lost;
with ``keep_going`` the frames that decode are yielded and what was lost is logged as a
warning at the end. Frame sizes are checked against ``max_pixels`` from the stream's
header, before anything is decoded.
"""

from __future__ import annotations

import collections
import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from ..errors import InputError
from .colour import reformat_options
from .frames import DECODE_PIXELS, Frame, VideoInfo, megapixels
from .integrity import EXACT_FRAME_COUNTS, DecodeTally, truncation
from .planes import SOURCE_FORMATS, planes_of, rotate_planes
from .segment import Segment

log = logging.getLogger(__name__)


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
    ``even`` makes that scaled size even. ``max_pixels`` refuses frames larger than that
    before decoding them (default :data:`DECODE_PIXELS`). ``keep_going`` yields what can
    be decoded from a damaged file instead of failing, with a warning of what was lost
    (and decodes without frame threading, which salvages more). Use as
    ``with VideoSource(p) as src: for item in src``.
    """

    def __init__(self, path: str | os.PathLike, max_size: int | None = None, even: bool = False,
                 threads: bool = True, max_pixels: int | None = None, keep_going: bool = False,
                 segment: tuple[float, float | None] | None = None):
        self.path = Path(path)
        self.segment = Segment(*segment) if segment else None
        self.max_size = max_size
        self.even = even
        self.threads = threads and not keep_going
        self.max_pixels = max_pixels or DECODE_PIXELS
        self.keep_going = keep_going
        self._container = None
        self._pending: collections.deque = collections.deque()
        self._items: Iterator | None = None
        self.info: VideoInfo | None = None
        self.tally = DecodeTally()

    @property
    def frames_decoded(self) -> int:
        return self.tally.frames

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

    def _damaged(self, problems: list[str]) -> InputError:
        return InputError(f"damaged or truncated: {'; '.join(problems)}; {self.tally.frames} frames could be "
                          "decoded (--keep-going stylizes those)", self.path)

    def _check_size(self, width: int, height: int) -> None:
        if width * height > self.max_pixels:
            raise InputError(f"frame size {megapixels(width, height)} is over the limit of "
                             f"{self.max_pixels / 1e6:.1f} megapixels for decoding; --max-pixels raises it where "
                             "there is memory for it (about 4 bytes per pixel per frame)", self.path)

    def _open(self) -> None:
        container = self._container
        pictures = av.stream.Disposition.attached_pic | av.stream.Disposition.timed_thumbnails
        candidates = [s for s in container.streams.video if not s.disposition & pictures]
        if not candidates:
            kinds = sorted({s.type for s in container.streams}) or ["none"]
            what = ", ".join(kinds) + (" (a cover picture only)" if container.streams.video else "")
            raise InputError(f"no video stream (streams found: {what})", self.path)
        candidates = [s for s in candidates if _known_codec(s)]
        if not candidates:
            raise InputError("the video stream's codec is not one FFmpeg knows (damaged header?)", self.path)
        # the default-flagged stream first, then the largest
        video = max(candidates, key=lambda s: (bool(s.disposition & av.stream.Disposition.default),
                                               (s.codec_context.width or 0) * (s.codec_context.height or 0)))
        self._check_size(video.codec_context.width or 0, video.codec_context.height or 0)
        self.tally.truncated = truncation(self.path, container.format.name)
        if self.tally.truncated and not self.keep_going:
            raise InputError(f"{self.tally.truncated}; --keep-going stylizes the frames that can be decoded",
                             self.path)
        if container.format.name in EXACT_FRAME_COUNTS:
            self.tally.expected = video.frames or None
        self._declared_s = declared_duration_s(video)
        if self.threads:
            video.thread_type = "AUTO"
        self._video = video
        if self.segment and self.segment.start_s > 0 and container.format.name != "gif":
            try:  # to the keyframe before the start; the frames before the start are dropped
                container.seek(self.segment.offset(video.time_base), stream=video, backward=True)
                self.tally.expected = None  # the index counts frames never read now
            except av.FFmpegError as error:
                log.info("%s: cannot seek (%s); reading from the beginning", self.path, error)
        passthrough = [s for s in container.streams if s.type in ("audio", "subtitle") and _known_codec(s)]
        ignored = [s for s in container.streams if s is not video and s not in passthrough]
        for s in ignored:
            unknown = s.type in ("audio", "subtitle")
            level = logging.WARNING if s.type == "video" or unknown else logging.INFO
            log.log(level, "%s: stream #%d (%s) is not carried over%s", self.path, s.index, s.type,
                    ": its codec is not one FFmpeg knows (damaged header?)" if unknown else "")
        self._items = self._demux([video, *passthrough])
        first = None
        for item in self._items:  # decode up to the first frame, to learn rotation and format
            self._pending.append(item)
            if isinstance(item, Frame):
                first = item
                break
        if first is None:
            problems = self.tally.problems()
            raise InputError("no video frames could be decoded ("
                             + ("; ".join(problems) if problems else "empty or truncated video stream") + ")",
                             self.path)
        cc = video.codec_context
        frame_count = self.tally.expected or video.frames or None
        duration_s = float(video.duration * video.time_base) if video.duration else (
            container.duration / av.time_base if container.duration else None)
        if frame_count is None and duration_s and video.average_rate:
            frame_count = int(round(duration_s * float(video.average_rate)))
        if self.segment and duration_s and video.average_rate:
            left = max(0.0, duration_s - self.segment.start_s)
            frame_count = int(round(min(left, self.segment.duration_s or left) * float(video.average_rate)))
        self.info = VideoInfo(
            path=self.path, container=container.format.name, codec=cc.name,
            width=self._first_av.width, height=self._first_av.height, rotation=self._rotation,
            time_base=video.time_base, sample_aspect_ratio=video.sample_aspect_ratio or cc.sample_aspect_ratio or None,
            average_rate=video.average_rate, frame_count=frame_count, duration_s=duration_s,
            pix_fmt=self._first_av.format.name, colorspace=int(self._first_av.colorspace),
            color_range=int(self._first_av.color_range), color_primaries=int(self._first_av.color_primaries),
            color_trc=int(self._first_av.color_trc), has_alpha=first.alpha is not None,
            frame_size=(first.rgb.shape[1], first.rgb.shape[0]), passthrough=passthrough)

    def _decode(self, packet: av.Packet) -> list:
        try:
            return packet.decode()
        except av.FFmpegError as error:
            reason = getattr(error, "strerror", None) or str(error)
            if not self.keep_going:
                raise InputError(f"damaged video: decoding failed after {self.tally.frames} frames ({reason}); "
                                 "--keep-going stylizes the frames that can be decoded", self.path) from error
            self.tally.refused.append(reason)
            return []

    def _demux(self, streams) -> Iterator:
        video = streams[0]
        try:
            for packet in self._container.demux(streams):
                if packet.stream.index != video.index:
                    if packet.dts is not None and packet.size:
                        kept = self.segment.move_packet(packet) if self.segment else packet
                        if kept is not None:
                            yield kept
                    continue
                if packet.size:
                    self.tally.packets += 1
                for frame in self._decode(packet):
                    if self.segment is None:
                        yield self._convert(frame)
                        continue
                    pts = frame.pts if frame.pts is not None else frame.dts
                    if pts is not None and self.segment.after(pts, frame.time_base):
                        return  # the rest of the file was not asked for
                    if pts is None or not self.segment.before(pts, frame.time_base):
                        yield self.segment.move_frame(self._convert(frame))
                    else:
                        self.tally.outside += 1
        except av.FFmpegError as error:
            reason = getattr(error, "strerror", None) or str(error)
            if not self.keep_going:
                raise InputError(f"reading failed after {self.tally.frames} frames ({reason}); the file is "
                                 "truncated or damaged (--keep-going stylizes the frames before it)",
                                 self.path) from error
            self.tally.stopped = reason
        self._finish()

    def _finish(self) -> None:
        """At the end of the stream: every frame came out, or say what did not."""
        problems = self.tally.problems()
        end = self._last_end_s
        if self._declared_s and end is not None and end < self._declared_s - max(0.5, 0.05 * self._declared_s):
            problems.append(f"its frames end at {end:.2f} s, though the video stream says it lasts "
                            f"{self._declared_s:.2f} s")
        if not problems:
            return
        if not self.keep_going:
            raise self._damaged(problems)
        log.warning("%s: damaged or truncated: %s; the %d frames that decoded were stylized, the rest is left out",
                    self.path, "; ".join(problems), self.tally.frames)

    _last_end_s: float | None = None

    def _convert(self, frame: av.VideoFrame) -> Frame:
        if self.tally.frames == 0:
            self._first_av = frame
            self._check_size(frame.width, frame.height)
            rotation = frame.rotation or 0
            if round(rotation) % 90:
                raise InputError(f"display rotation of {rotation} degrees is not a multiple of 90", self.path)
            self._rotation = int(round(rotation)) % 360
            self._alpha = any(c.is_alpha for c in frame.format.components) or frame.format.has_palette
        elif (frame.width, frame.height) != (self._first_av.width, self._first_av.height):
            self._check_size(frame.width, frame.height)
        turns = self._rotation // 90
        w, h = (frame.height, frame.width) if turns % 2 else (frame.width, frame.height)
        w, h = scaled_size(w, h, self.max_size, self.even)
        if turns % 2:
            w, h = h, w
        rgb, alpha, planes = self._pixels(frame, turns, w, h)
        pts = frame.pts if frame.pts is not None else frame.dts
        if pts is None:
            raise InputError(f"frame {self.tally.frames} has no timestamp", self.path)
        result = Frame(rgb, int(pts), frame.time_base, frame.duration or None, self.tally.frames, alpha, planes)
        if frame.time_base is not None:
            self._last_end_s = float((pts + (frame.duration or 0)) * frame.time_base)
        self.tally.frames += 1
        return result

    def _pixels(self, frame: av.VideoFrame, turns: int, w: int, h: int):
        """(rgb, alpha, planes) of ``frame``, upright at ``w`` x ``h``: RGB(A), or the
        4:2:0 planes once :meth:`yield_planes` asked for them."""
        size = {} if (w, h) == (frame.width, frame.height) else {"width": w, "height": h, "interpolation": "AREA"}
        if self._planes:
            if size or frame.format.name != self.info.pix_fmt:  # YUV to YUV: matrix and range stay
                frame = frame.reformat(format=self.info.pix_fmt, **size)
            return None, None, rotate_planes(planes_of(frame), turns)
        kwargs = {**reformat_options(frame.colorspace, frame.color_range, "src"), **size}
        array = frame.reformat(format="rgba" if self._alpha else "rgb24", **kwargs).to_ndarray()
        if turns:
            array = np.rot90(array, turns)  # -90 (stored 270) -> 3 quarter turns = 90° clockwise
        if self._alpha:
            return np.ascontiguousarray(array[..., :3]), np.ascontiguousarray(array[..., 3]), None
        return np.ascontiguousarray(array), None, None

    _planes = False

    def yield_planes(self) -> None:
        """From now on, frames carry their 4:2:0 planes, in the stream's own matrix and
        range, instead of RGB (``yuv420p`` streams without alpha only)."""
        if self.info.pix_fmt not in SOURCE_FORMATS or self.info.has_alpha:
            raise ValueError(f"{self.path}: planes are for 4:2:0 streams without alpha, not {self.info.pix_fmt}")
        self._planes = True
        turns = self._rotation // 90
        for i, item in enumerate(self._pending):  # the first frame, decoded by _open as RGB
            if isinstance(item, Frame) and item.planes is None:
                h, w = item.rgb.shape[:2]
                stored = (h, w) if turns % 2 else (w, h)
                self._pending[i] = replace(item, rgb=None, planes=self._pixels(self._first_av, turns, *stored)[2])

    def __iter__(self) -> Iterator[Frame | av.Packet]:
        """Frames and the audio/subtitle packets, in demux order."""
        while self._pending:
            yield self._pending.popleft()
        yield from self._items

    def frames(self) -> Iterator[Frame]:
        """The video frames alone, for readers that carry no other stream."""
        return (item for item in self if isinstance(item, Frame))


def _known_codec(stream) -> bool:
    context = stream.codec_context
    return context is not None and context.codec is not None and context.codec.name != "none"


def declared_duration_s(video) -> float | None:
    """The video stream's own duration in seconds, where its header records one (MP4's
    track duration, Matroska's DURATION tag); None otherwise."""
    if video.duration and video.time_base:
        return float(video.duration * video.time_base)
    tag = (video.metadata or {}).get("DURATION")
    if tag:
        try:
            hours, minutes, seconds = tag.split(":")
            return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        except ValueError:
            return None
    return None
