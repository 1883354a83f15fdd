"""``videostyle compare``: several models on the same frames, side by side.

The input comes first, then each model's output, with the names written above: one
image for an image, a short video (the first seconds, or any part) for a video or GIF,
with the input's sound. Every model runs on the same decoded frames.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from ..errors import ConfigError
from ..media.atomic import atomic_output
from ..media.decode import VideoSource, scaled_size
from ..media.encode import VideoEncoding, VideoSink
from ..media.images import flatten_alpha, read_image, write_image
from ..media.kinds import media_kind, output_kind
from ..network.models import load_model, resolve_model
from ..network.stylize import Stylizer
from .file import FileResult
from .streams import ProgressCallback, run_streams

LABEL_PX = 20  # height of the name bar above each picture
GAP_PX = 4


class SideBySide:
    """A stylizer-like callable: each frame becomes [input | model 1 | model 2 | …]."""

    def __init__(self, names: Sequence[str], stylizers: Sequence[Stylizer]):
        self.names, self.stylizers = list(names), list(stylizers)
        self.batch_size = min(s.batch_size for s in stylizers)

    def size(self, width: int, height: int) -> tuple[int, int]:
        columns = len(self.stylizers) + 1
        return columns * width + (columns - 1) * GAP_PX, height + LABEL_PX

    def __call__(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        outputs = [stylizer(frames) for stylizer in self.stylizers]
        return [self._compose([frame, *(out[i] for out in outputs)]) for i, frame in enumerate(frames)]

    def _compose(self, pictures: list[np.ndarray]) -> np.ndarray:
        h, w = pictures[0].shape[:2]
        width, height = self.size(w, h)
        canvas = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(canvas)
        for i, (picture, name) in enumerate(zip(pictures, ["input", *self.names])):
            x = i * (w + GAP_PX)
            canvas.paste(Image.fromarray(picture), (x, LABEL_PX))
            draw.text((x + 4, 4), name, fill="black")
        return np.asarray(canvas)


def compare(input_path: str | os.PathLike, models: Sequence[str], output_path: str | os.PathLike, *,
            max_size: int | None = 480, device: str = "auto", start_s: float | None = None,
            duration_s: float | None = 3.0, encoding: VideoEncoding = VideoEncoding(),
            progress: ProgressCallback | None = None) -> FileResult:
    """Write the side-by-side comparison of ``models`` on ``input_path`` to ``output_path``
    (an image for an image; a video container for a video or GIF)."""
    if len(models) < 1:
        raise ConfigError("name at least one model to compare")
    src, dst = Path(input_path), Path(output_path)
    names = [resolve_model(m)[0] for m in models]
    kind, out_kind = media_kind(src), output_kind(dst)
    if (kind == "image") != (out_kind == "image") or out_kind == "gif":
        wanted = "an image (.png, .jpg)" if kind == "image" else "a video (.mp4, .mkv, .webm)"
        raise ConfigError(f"a comparison of {src.name} is written as {wanted}")
    side = SideBySide(names, [Stylizer(load_model(m), device) for m in models])
    start = time.perf_counter()
    with atomic_output(dst) as tmp:
        if kind == "image":
            image = read_image(src, long_side=max_size)
            rgb = flatten_alpha(image.rgb, image.alpha)
            if max_size and max(rgb.shape[:2]) > max_size:
                w, h = scaled_size(rgb.shape[1], rgb.shape[0], max_size, even=True)
                rgb = np.asarray(Image.fromarray(rgb).resize((w, h), Image.Resampling.LANCZOS))
            write_image(tmp, dst, side([rgb])[0], None)
            frames = 1
        else:
            segment = (start_s or 0.0, duration_s)
            with VideoSource(src, max_size=max_size, even=True, segment=segment) as source:
                sink = VideoSink(tmp, dst, source.info, side.size(*source.info.frame_size), encoding)
                frames = run_streams(source, sink, side, progress)
    return FileResult(src, dst, frames, time.perf_counter() - start)
