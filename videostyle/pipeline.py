"""``stylize_file``: one input (image, video or animated GIF) to one stylized output.

Videos and GIFs flow decoder → batcher → network → encoder. Decoding and encoding run
in their own threads with bounded queues, so I/O overlaps the network and memory stays
flat however long the video is. The output is written to a temporary file beside the
target and moved into place only when complete.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import av
import numpy as np
from PIL import Image

from .decode import Frame, VideoSource, open_container, scaled_size
from .encode import VIDEO_CONTAINERS, VideoEncoding, VideoSink, container_for, needs_even_size
from .errors import ConfigError, InputError, OutputError, VideostyleError
from .gif import GifSink, read_loop_count
from .images import IMAGE_FORMATS, read_image, write_image
from .outputs import atomic_output
from .palette import StableQuantizer
from .stylize import Stylizer

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = set(VIDEO_CONTAINERS) | {".mpg", ".mpeg", ".ts", ".m2ts", ".wmv", ".flv", ".3gp", ".ogv", ".mts"}
GIF_EXTENSIONS = {".gif"}
IMAGE_EXTENSIONS = set(IMAGE_FORMATS)
MEDIA_EXTENSIONS = VIDEO_EXTENSIONS | GIF_EXTENSIONS | IMAGE_EXTENSIONS
BACKGROUND = 255  # transparent pixels are shown to the network as white


@dataclass(frozen=True)
class Progress:
    """One progress report: ``frames_done`` of ``frames_total`` (None if unknown) for ``path``."""

    path: Path
    frames_done: int
    frames_total: int | None


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class FileResult:
    input: Path
    output: Path
    frames: int
    seconds: float


def media_kind(path: Path) -> str:
    """'image', 'gif' or 'video', by extension (unknown extensions are probed with PyAV)."""
    suffix = path.suffix.lower()
    if suffix in GIF_EXTENSIONS:
        return "gif"
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    if suffix in VIDEO_EXTENSIONS:
        return "video"
    container = open_container(path)
    try:
        if container.streams.video:
            return "gif" if container.format.name == "gif" else "video"
    finally:
        container.close()
    raise InputError("not an image, GIF or video that can be read", path)


def flatten_alpha(rgb: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Composite onto white where the input is (partly) transparent."""
    if alpha is None or alpha.min() == 255:
        return rgb
    a = alpha[..., None].astype(np.float32) / 255
    return (rgb * a + BACKGROUND * (1 - a) + 0.5).astype(np.uint8)


def stylize_file(input_path: str | os.PathLike, output_path: str | os.PathLike, stylizer: Stylizer, *,
                 max_size: int | None = None, encoding: VideoEncoding = VideoEncoding(),
                 progress: ProgressCallback | None = None, frame_filter=None) -> FileResult:
    """Stylize one file. The output's extension picks its format (image, GIF or video
    container). ``frame_filter``, if given, post-processes each stylized video frame:
    ``frame_filter(original_rgb, stylized_rgb, alpha) -> rgb``, with the original as the
    network saw it (alpha flattened) and its alpha (``None`` when opaque); used by
    ``--stabilize``."""
    src, dst = Path(input_path), Path(output_path)
    if src.resolve() == dst.resolve():
        raise OutputError("output would replace its own input; choose another output name", dst)
    kind = media_kind(src)
    out_kind = "gif" if dst.suffix.lower() in GIF_EXTENSIONS else (
        "image" if dst.suffix.lower() in IMAGE_EXTENSIONS else "video")
    if out_kind == "video":
        container_for(dst)  # unknown extensions fail before any work
    if kind == "image" and out_kind != "image":
        raise ConfigError(f"{src.name} is a still image; write it as {', '.join(sorted(IMAGE_FORMATS))}")
    if kind != "image" and out_kind == "image":
        raise ConfigError(f"{src.name} is a {kind}; write it as a video ({', '.join(VIDEO_CONTAINERS)}) or .gif")
    start = time.perf_counter()
    with atomic_output(dst) as tmp:
        if kind == "image":
            frames = _image(src, tmp, dst, stylizer, max_size, progress)
        else:
            frames = _video(src, tmp, dst, kind, out_kind, stylizer, max_size, encoding, progress, frame_filter)
    return FileResult(src, dst, frames, time.perf_counter() - start)


def _image(src: Path, tmp: Path, dst: Path, stylizer: Stylizer, max_size: int | None,
           progress: ProgressCallback | None) -> int:
    image = read_image(src)
    rgb, alpha = image.rgb, image.alpha
    if max_size and max(rgb.shape[:2]) > max_size:
        w, h = scaled_size(rgb.shape[1], rgb.shape[0], max_size)
        rgb = np.asarray(Image.fromarray(rgb).resize((w, h), Image.Resampling.LANCZOS))
        if alpha is not None:
            alpha = np.asarray(Image.fromarray(alpha).resize((w, h), Image.Resampling.LANCZOS))
    out = stylizer([flatten_alpha(rgb, alpha)])[0]
    write_image(tmp, dst, out, alpha, image.icc_profile, image.exif)
    if progress:
        progress(Progress(src, 1, 1))
    return 1


_END = object()


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


class _Pipe:
    """A bounded queue whose ``put`` gives up when the pipeline is stopping."""

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


def _video(src: Path, tmp: Path, dst: Path, kind: str, out_kind: str, stylizer: Stylizer,
           max_size: int | None, encoding: VideoEncoding, progress: ProgressCallback | None,
           frame_filter) -> int:
    even = out_kind == "video" and needs_even_size(dst, encoding) and bool(max_size)
    with VideoSource(src, max_size=max_size, even=even) as source:
        info = source.info
        if out_kind == "gif":
            loop = read_loop_count(src) if kind == "gif" else 0
            quantizer = StableQuantizer.for_keep_levels(encoding.gif_keep_levels, encoding.gif_dither)
            sink = GifSink(tmp, info.frame_size, loop, quantizer)
            if info.passthrough:
                log.warning("%s: GIF has no audio or subtitles; %d stream(s) left out", dst, len(info.passthrough))
        else:
            sink = VideoSink(tmp, dst, info, info.frame_size, encoding)
        return _run_threads(source, sink, stylizer, progress, frame_filter, out_kind == "gif")


def _run_threads(source: VideoSource, sink, stylizer: Stylizer, progress, frame_filter, keep_alpha: bool) -> int:
    stop = threading.Event()
    depth = max(2 * stylizer.batch_size, 8)
    decoded, stylized = _Pipe(depth, stop), _Pipe(depth, stop)
    errors: list[BaseException] = []
    total = source.info.frame_count
    path = source.path

    def decode() -> None:
        try:
            for item in source:
                if not decoded.put(item):
                    return
            decoded.put(_END)
        except BaseException as error:
            decoded.put(_Failed(error))

    def encode() -> None:
        last: Frame | None = None
        try:
            while True:
                item = stylized.get()
                if item is _END:
                    break
                if isinstance(item, av.Packet):
                    if not isinstance(sink, GifSink):
                        sink.write_packet(item)
                    continue
                frame, rgb = item
                if isinstance(sink, GifSink):
                    sink.write_frame(rgb, frame.alpha if keep_alpha else None, frame.pts, frame.time_base)
                else:
                    sink.write_frame(rgb, frame.pts, frame.time_base)
                last = frame
            if stop.is_set():
                return
            if isinstance(sink, GifSink):
                sink.close(last.duration if last else None, last.time_base if last else None)
            else:
                sink.close()
        except BaseException as error:
            errors.append(error)
            stop.set()

    threads = [threading.Thread(target=decode, name="videostyle-decode", daemon=True),
               threading.Thread(target=encode, name="videostyle-encode", daemon=True)]
    for t in threads:
        t.start()
    done = 0
    batch: list[Frame] = []

    def flush() -> None:
        nonlocal done
        if not batch:
            return
        inputs = [flatten_alpha(f.rgb, f.alpha) for f in batch]
        outputs = stylizer(inputs)
        for frame, seen, out in zip(batch, inputs, outputs):
            if frame_filter is not None:
                out = frame_filter(seen, out, frame.alpha)
            if not stylized.put((frame, out)):
                break
        done += len(batch)
        batch.clear()
        if progress:
            progress(Progress(path, done, total))

    try:
        while True:
            item = decoded.get()
            if item is _END:
                break
            if isinstance(item, _Failed):
                raise item.error
            if isinstance(item, Frame):
                batch.append(item)
                if len(batch) >= stylizer.batch_size:
                    flush()
            else:
                stylized.put(item)
            if stop.is_set():
                break
        if not stop.is_set():
            flush()
            stylized.put(_END)
        threads[1].join()
    except BaseException:
        stop.set()
        for t in threads:
            t.join(timeout=5)
        sink.abort()
        raise
    if errors:
        sink.abort()
        raise errors[0]
    if stop.is_set():
        sink.abort()
        raise VideostyleError("stopped before the end of the video", path)
    if progress and total != done:
        progress(Progress(path, done, done))
    return done
