"""The streaming loop of a video or GIF: decoder → batcher → network → encoder.

Decoding and encoding run in their own threads with bounded queues, so I/O overlaps the
network and memory stays flat however long the video is. Any :class:`Sink` takes the
output: the loop hands it each source frame with its stylized pixels, and every audio
or subtitle packet in demux order.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import av
import numpy as np

from ..errors import VideostyleError
from ..media.colour import matrix_for
from ..media.decode import VideoSource
from ..media.frames import Frame
from ..media.images import flatten_alpha
from ..media.planes import full_range
from ..network.stylize import Stylizer
from .looks import Look

log = logging.getLogger(__name__)
LONG_WAIT_S = 300  # a wait worth a line of its own


@dataclass(frozen=True)
class Progress:
    """One progress report: ``frames_done`` of ``frames_total`` (None if unknown) for ``path``."""

    path: Path
    frames_done: int
    frames_total: int | None


ProgressCallback = Callable[[Progress], None]
FrameFilter = Callable[[np.ndarray, np.ndarray, "np.ndarray | None"], np.ndarray]


class Sink(Protocol):
    """Where a stylized stream goes (:class:`~videostyle.media.encode.VideoSink`,
    :class:`~videostyle.media.gif.GifSink`)."""

    def write_frame(self, frame: Frame, rgb: np.ndarray) -> None:
        """Write ``rgb`` (upright, the frame's size) with ``frame``'s timing and alpha.
        (A :class:`~videostyle.media.encode.VideoSink` also takes 4:2:0 planes,
        ``write_planes``, when the source yields them.)"""

    def write_packet(self, packet: av.Packet) -> None:
        """Carry an audio or subtitle packet of the source across (or account for it)."""

    def close(self) -> None:
        """Flush and finish the file."""

    def abort(self) -> None:
        """Stop, leaving the (temporary) file to be deleted."""


_END = object()


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


class _Pipe:
    """A bounded queue whose ``put`` gives up and ``get`` returns ``_END`` once ``stop`` is set."""

    def __init__(self, size: int, stop: threading.Event):
        self.queue: queue.Queue = queue.Queue(maxsize=size)
        self.stop = stop

    def put(self, item) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def get(self):
        while True:
            try:
                return self.queue.get(timeout=0.1)
            except queue.Empty:
                if self.stop.is_set():
                    return _END


class _Streams:
    """One run of the loop; :func:`run_streams` is its entry point."""

    def __init__(self, source: VideoSource, sink: Sink, stylizer: Stylizer, progress: ProgressCallback | None,
                 frame_filter: FrameFilter | None, look: Look | None):
        self.source, self.sink, self.stylizer = source, sink, stylizer
        self.progress, self.frame_filter = progress, frame_filter
        self.look = look if look is not None and look.active else None
        self.stop = threading.Event()
        depth = max(2 * stylizer.batch_size, 8)
        self.decoded, self.stylized = _Pipe(depth, self.stop), _Pipe(depth, self.stop)
        self.errors: list[BaseException] = []
        self.done = 0
        self.started = time.perf_counter()
        self.estimated = False
        self.timed_from = 0  # frames done before the estimate's clock started

    def decode(self) -> None:
        """Decoder thread: every item of the source, then ``_END`` (or the error)."""
        try:
            for item in self.source:
                if not self.decoded.put(item):
                    return
            self.decoded.put(_END)
        except BaseException as error:
            self.decoded.put(_Failed(error))

    def encode(self) -> None:
        """Encoder thread: writes what the network thread hands on, closes the sink at ``_END``."""
        try:
            while (item := self.stylized.get()) is not _END:
                if isinstance(item, tuple) and isinstance(item[1], tuple):
                    self.sink.write_planes(*item)
                elif isinstance(item, tuple):
                    self.sink.write_frame(*item)
                else:
                    self.sink.write_packet(item)
            if not self.stop.is_set():
                self.sink.close()
        except BaseException as error:
            self.errors.append(error)
            self.stop.set()

    def submit(self, batch: list[Frame]) -> tuple:
        """Start the network on ``batch``: its 4:2:0 planes where the source yields them,
        else its RGB with alpha flattened (what looks and filters compare against)."""
        if batch[0].planes is not None:
            info = self.source.info  # the planes keep the stream's matrix and range
            return batch, None, self.stylizer.submit_planes([f.planes for f in batch], matrix_for(info.colorspace),
                                                            full_range(info.pix_fmt, info.color_range))
        inputs = [flatten_alpha(f.rgb, f.alpha) for f in batch]
        submit = getattr(self.stylizer, "submit", None)
        return batch, inputs, submit(inputs) if submit else _Done(self.stylizer(inputs))

    def finish(self, pending: tuple) -> None:
        """Hand a submitted batch's stylized frames to the encoder, in order."""
        batch, inputs, submitted = pending
        for i, (frame, out) in enumerate(zip(batch, submitted.result())):
            if inputs is not None and self.look is not None:
                out = self.look(inputs[i], out)
            if inputs is not None and self.frame_filter is not None:
                out = self.frame_filter(inputs[i], out, frame.alpha)
            if not self.stylized.put((frame, out)):
                return
        self.done += len(batch)
        if not self.estimated:
            if getattr(self.stylizer, "compiled", False) and not self.timed_from:
                # the first batch waited for the compiler: time the rest from here
                self.started, self.timed_from = time.perf_counter(), self.done
            else:
                self.estimated = True
                self.say_how_long()
        if self.progress:
            self.progress(Progress(self.source.path, self.done, self.source.info.frame_count))

    def say_how_long(self) -> None:
        """After the first batch, one line when the rest will take long: how long, and what
        would make it quicker (for --quiet runs and logs; the bar shows its own ETA)."""
        total = self.source.info.frame_count
        if not total or total <= self.done:
            return
        per_frame = (time.perf_counter() - self.started) / (self.done - self.timed_from)  # start-up included
        left = per_frame * (total - self.done)
        if left < LONG_WAIT_S:
            return
        width, height = self.source.info.frame_size
        hints = [f"--max-size {max(width, height) // 2} (a quarter of the pixels)"]
        hints += getattr(self.stylizer, "speed_hints", lambda: [])()
        log.warning("%s: about %s for the remaining %d frames at %.1f s per %dx%d frame; quicker: %s",
                    self.source.path, _duration(left), total - self.done, per_frame, width, height,
                    "; ".join(hints))

    def run(self) -> int:
        threads = [threading.Thread(target=self.decode, name="videostyle-decode", daemon=True),
                   threading.Thread(target=self.encode, name="videostyle-encode", daemon=True)]
        batch: list[Frame] = []
        try:
            # started inside the try: a signal arriving now still stops and joins them
            # before the source and sink close (FFmpeg must not be torn down under them)
            for thread in threads:
                thread.start()
            # one batch in flight: on a GPU the next batch's upload overlaps this one's network
            in_flight: collections.deque = collections.deque()
            while not self.stop.is_set() and (item := self.decoded.get()) is not _END:
                if isinstance(item, _Failed):
                    raise item.error
                if isinstance(item, Frame):
                    batch.append(item)
                    if len(batch) >= self.stylizer.batch_size:
                        in_flight.append(self.submit(batch))
                        batch = []
                        if len(in_flight) > 1:
                            self.finish(in_flight.popleft())
                else:
                    self.stylized.put(item)
            if not self.stop.is_set():
                if batch:
                    in_flight.append(self.submit(batch))
                while in_flight and not self.stop.is_set():
                    self.finish(in_flight.popleft())
                self.stylized.put(_END)
            threads[1].join()
        except BaseException:
            self.stop.set()
            for thread in threads:
                if thread.is_alive():
                    thread.join(timeout=5)
            self.sink.abort()
            raise
        if self.errors:
            self.sink.abort()
            raise self.errors[0]
        if self.stop.is_set():
            self.sink.abort()
            raise VideostyleError("stopped before the end of the video", self.source.path)
        if self.progress and self.source.info.frame_count != self.done:
            self.progress(Progress(self.source.path, self.done, self.done))
        return self.done


class _Done:
    """A stand-in stylizer's (any callable) finished batch, as a submitted one."""

    def __init__(self, frames: list):
        self.frames = frames

    def result(self) -> list:
        return self.frames


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def run_streams(source: VideoSource, sink: Sink, stylizer: Stylizer, progress: ProgressCallback | None = None,
                frame_filter: FrameFilter | None = None, look: Look | None = None) -> int:
    """Stylize every frame of an open ``source`` into ``sink`` (each stylized frame
    adjusted by ``look``, then ``frame_filter``); returns the frame count."""
    return _Streams(source, sink, stylizer, progress, frame_filter, look).run()
