"""``stylize_file``: one input (image, video or animated GIF) to one stylized output.

Videos and GIFs flow decoder → batcher → network → encoder (:mod:`.streams`). The
output is written to a temporary file beside the target and moved into place only when
complete.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import ConfigError, OutputError
from ..media.atomic import atomic_output
from ..media.colour import matrix_for, matrix_known
from ..media.decode import VideoSource, scaled_size
from ..media.encode import VideoEncoding, VideoSink, container_for, needs_even_size
from ..media.gif import GifSink, read_loop_count
from ..media.images import flatten_alpha, read_image, write_image
from ..media.kinds import IMAGE_FORMATS, VIDEO_CONTAINERS, media_kind, output_kind
from ..media.palette import StableQuantizer
from ..media.planes import PLANAR_FORMAT, SOURCE_FORMATS
from ..network.stylize import Stylizer
from .looks import Look
from .plan import real
from .streams import FrameFilter, Progress, ProgressCallback, run_streams

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileResult:
    input: Path
    output: Path
    frames: int
    seconds: float


def check_size(stylizer, width: int, height: int, batch: int | None = None) -> None:
    """Ask a :class:`Stylizer` whether frames of this size fit before any work; stand-ins
    (any callable with a ``batch_size``) are not asked."""
    check = getattr(stylizer, "check_size", None)
    if check is not None:
        check(width, height, batch)


def stylize_file(input_path: str | os.PathLike, output_path: str | os.PathLike, stylizer: Stylizer, *,
                 max_size: int | None = None, encoding: VideoEncoding = VideoEncoding(),
                 progress: ProgressCallback | None = None, frame_filter: FrameFilter | None = None,
                 max_pixels: int | None = None, keep_going: bool = False, look: Look | None = None,
                 segment: tuple[float, float | None] | None = None) -> FileResult:
    """Stylize one file. The output's extension picks its format (image, GIF or video
    container). ``frame_filter``, if given, post-processes each stylized video frame:
    ``frame_filter(original_rgb, stylized_rgb, alpha) -> rgb``, with the original as the
    network saw it (alpha flattened) and its alpha (``None`` when opaque); used by
    ``--stabilize``. ``max_pixels`` caps the frames decoded (default
    :data:`~videostyle.media.frames.DECODE_PIXELS`); the stylizer caps what it runs on.
    ``keep_going`` stylizes what decodes of a damaged video, with a warning of what was
    lost, instead of failing. ``look`` adjusts each stylized frame (strength, colours;
    :mod:`.looks`), in the YCbCr matrix the output is stored in. ``segment`` = (start s,
    duration s or None) stylizes only that part of a video or GIF, starting at time 0,
    with the sound of that part."""
    src, dst = Path(input_path), Path(output_path)
    if real(src) == real(dst):
        raise OutputError("output would replace its own input; choose another output name", dst)
    kind, out_kind = media_kind(src), output_kind(dst)
    if out_kind == "video":
        container_for(dst)  # unknown extensions fail before any work
    if kind == "image" and out_kind != "image":
        raise ConfigError(f"{src.name} is a still image; write it as {', '.join(sorted(IMAGE_FORMATS))}")
    if kind != "image" and out_kind == "image":
        raise ConfigError(f"{src.name} is a {kind}; write it as a video ({', '.join(VIDEO_CONTAINERS)}) or .gif")
    if kind == "image" and segment:
        log.info("%s: a still image has no time; --start and --duration apply to videos and GIFs", src)
    start = time.perf_counter()
    with atomic_output(dst) as tmp:
        if kind == "image":
            frames = _image(src, tmp, dst, stylizer, max_size, progress, max_pixels, look)
        else:
            source = VideoSource(src, max_size=max_size, even=out_kind == "video" and bool(max_size)
                                 and needs_even_size(dst, encoding), max_pixels=max_pixels, keep_going=keep_going,
                                 segment=segment)
            frames = _video(source, tmp, dst, kind, out_kind, stylizer, encoding, progress, frame_filter, look)
    return FileResult(src, dst, frames, time.perf_counter() - start)


def _planes_apply(stylizer, info, sink: VideoSink, frame_filter: FrameFilter | None, look: Look | None) -> bool:
    """Whether frames may cross to the network as the stream's own 4:2:0 planes: the
    stylizer converts colour on its device, and nothing on the way needs RGB on the CPU."""
    return (getattr(stylizer, "colour_on_device", False) and info.pix_fmt in SOURCE_FORMATS and not info.has_alpha
            and matrix_known(info.colorspace) and sink.pix_fmt == PLANAR_FORMAT and frame_filter is None
            and (look is None or not look.active))


def _image(src: Path, tmp: Path, dst: Path, stylizer: Stylizer, max_size: int | None,
           progress: ProgressCallback | None, max_pixels: int | None, look: Look | None) -> int:
    image = read_image(src, max_pixels, long_side=max_size)
    rgb, alpha = image.rgb, image.alpha
    if max_size and max(rgb.shape[:2]) > max_size:
        w, h = scaled_size(rgb.shape[1], rgb.shape[0], max_size)
        rgb = np.asarray(Image.fromarray(rgb).resize((w, h), Image.Resampling.LANCZOS))
        if alpha is not None:
            alpha = np.asarray(Image.fromarray(alpha).resize((w, h), Image.Resampling.LANCZOS))
    check_size(stylizer, rgb.shape[1], rgb.shape[0], 1)
    seen = flatten_alpha(rgb, alpha)
    out = stylizer([seen])[0]
    if look is not None:
        out = look.with_matrix("bt601")(seen, out)  # JPEG's and the web's YCbCr
    write_image(tmp, dst, out, alpha, image.icc_profile, image.exif)
    if progress:
        progress(Progress(src, 1, 1))
    return 1


def _video(source: VideoSource, tmp: Path, dst: Path, kind: str, out_kind: str, stylizer: Stylizer,
           encoding: VideoEncoding, progress: ProgressCallback | None, frame_filter: FrameFilter | None,
           look: Look | None) -> int:
    src = source.path
    with source:
        info = source.info
        check_size(stylizer, *info.frame_size)
        if out_kind == "gif":
            loop = read_loop_count(src) if kind == "gif" else 0
            quantizer = StableQuantizer.for_keep_levels(encoding.gif_keep_levels, encoding.gif_dither)
            sink = GifSink(tmp, info.frame_size, loop, quantizer)
            if info.passthrough:
                log.warning("%s: GIF has no audio or subtitles; %d stream(s) left out", dst, len(info.passthrough))
        else:
            sink = VideoSink(tmp, dst, info, info.frame_size, encoding)
            if _planes_apply(stylizer, info, sink, frame_filter, look):
                source.yield_planes()
                log.info("%s: colour converted on the device (4:2:0 planes in, 4:2:0 planes out)", src)
        if look is not None:
            look = look.with_matrix("bt601" if out_kind == "gif" else matrix_for(info.colorspace))
        return run_streams(source, sink, stylizer, progress, frame_filter, look)
