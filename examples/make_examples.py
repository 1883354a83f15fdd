"""Make the small example inputs from scikit-image's sample photos (run once; the
outputs are committed):

- ``cat.gif``: Chelsea the cat, a slow zoom (20 frames, 70 ms each, the last held 600 ms);
- ``coffee.mp4``: a pan and zoom over the coffee photo, 3 s at 24 fps, 320x240, with a
  440/660 Hz AAC tone, so audio survival is audible.

    pip install scikit-image && python examples/make_examples.py
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image
from skimage import data

HERE = Path(__file__).resolve().parent


def view(src: Image.Image, size: tuple[int, int], zoom: float, cx: float, cy: float, angle: float = 0.0) -> np.ndarray:
    """What a camera sees of ``src``: a window 1/``zoom`` of its width centred at
    (``cx``, ``cy``) (fractions of its size, kept inside), turned ``angle`` degrees,
    resized to ``size``."""
    w, h = size
    box_w = src.width / zoom
    box_h = min(box_w * h / w, src.height / zoom)
    box_w = box_h * w / h
    x0 = min(max(cx * src.width - box_w / 2, 0), src.width - box_w)
    y0 = min(max(cy * src.height - box_h / 2, 0), src.height - box_h)
    if angle:
        src = src.rotate(angle, resample=Image.Resampling.BICUBIC, center=(x0 + box_w / 2, y0 + box_h / 2))
    return np.asarray(src.resize(size, Image.Resampling.LANCZOS, box=(x0, y0, x0 + box_w, y0 + box_h)))


def camera(image: np.ndarray, size: tuple[int, int], frames: int, zoom: tuple[float, float],
           centre_from: tuple[float, float], centre_to: tuple[float, float]):
    """Frames of a virtual camera gliding (smoothstep) over ``image``."""
    src = Image.fromarray(image)
    for i in range(frames):
        t = i / max(frames - 1, 1)
        t = t * t * (3 - 2 * t)
        yield view(src, size, zoom[0] + (zoom[1] - zoom[0]) * t,
                   centre_from[0] + (centre_to[0] - centre_from[0]) * t,
                   centre_from[1] + (centre_to[1] - centre_from[1]) * t)


def encode_video(out: av.container.OutputContainer, stream: av.VideoStream, frames, fps: int) -> None:
    """Encode RGB frames at a constant ``fps`` (pts = frame index) into ``out``, then
    flush the encoder."""
    for i, rgb in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts, frame.time_base = i, Fraction(1, fps)
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def make_gif() -> None:
    frames = [Image.fromarray(f) for f in camera(data.chelsea(), (200, 136), 20, (1.0, 1.5), (0.5, 0.5), (0.42, 0.38))]
    durations = [70] * 19 + [600]
    frames[0].save(HERE / "cat.gif", save_all=True, append_images=frames[1:], duration=durations, loop=0,
                   optimize=False)


def make_clip() -> None:
    fps, seconds, size = 24, 3, (320, 240)
    with av.open(str(HERE / "coffee.mp4"), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        video.codec_context.options = {"crf": "20"}
        audio = out.add_stream("aac", rate=44100)
        audio.layout = "mono"
        encode_video(out, video, camera(data.coffee(), size, fps * seconds, (1.0, 1.6), (0.35, 0.5), (0.6, 0.45)), fps)
        rate = 44100
        t = np.arange(seconds * rate) / rate
        tone = 0.2 * np.sin(2 * np.pi * np.where(t < seconds / 2, 440, 660) * t)
        for start in range(0, len(tone), 1024):
            chunk = tone[start:start + 1024].astype(np.float32)[None]
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = rate, start
            for packet in audio.encode(frame):
                out.mux(packet)
        for packet in audio.encode():
            out.mux(packet)


if __name__ == "__main__":
    make_gif()
    make_clip()
    for name in ("cat.gif", "coffee.mp4"):
        print(name, (HERE / name).stat().st_size, "bytes")
