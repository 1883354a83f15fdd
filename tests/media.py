"""Tiny media made at test time with PyAV and Pillow, and readers that report exact properties."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image


def pattern(index: int, width: int, height: int) -> np.ndarray:
    """An asymmetric RGB picture that moves with ``index``: gradients, a bright corner
    block (top-left) and a moving bar, so that rotation and flips are detectable."""
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[..., 0] = (x * 255 // max(width - 1, 1)).astype(np.uint8)
    rgb[..., 1] = (y * 255 // max(height - 1, 1)).astype(np.uint8)
    rgb[..., 2] = 60
    rgb[: height // 4, : width // 4] = 255
    bar = (index * 3) % max(width - 4, 1)
    rgb[height // 2:, bar:bar + 4, 2] = 255
    return rgb


@dataclass
class VideoFacts:
    width: int
    height: int
    frames: int
    pts: list[int]
    time_base: Fraction
    times: list[Fraction]
    rotation: int
    sample_aspect_ratio: Fraction | None
    codec: str
    pix_fmt: str
    audio_packets: list[str] = field(default_factory=list)  # md5 of each packet's bytes
    audio_codec: str | None = None
    subtitle_texts: list[tuple[Fraction, str]] = field(default_factory=list)
    rgb: list[np.ndarray] = field(default_factory=list)


def make_video(path: Path, *, size=(64, 48), pts=None, time_base=Fraction(1, 1000), codec="libx264",
               audio: str | None = "aac", rotation: int = 0, sar: Fraction | None = None,
               frames: int = 6, pix_fmt: str = "yuv420p", subtitles: list | None = None,
               container_format: str | None = None) -> VideoFacts:
    """A short video; ``pts`` (in ``time_base`` units) defaults to 40 ms steps."""
    w, h = size
    pts = pts if pts is not None else [i * 40 for i in range(frames)]
    out = av.open(str(path), "w", format=container_format)
    v = out.add_stream(codec)
    v.width, v.height, v.pix_fmt = w, h, pix_fmt
    v.time_base = time_base
    v.codec_context.time_base = time_base
    if sar:
        v.codec_context.sample_aspect_ratio = sar
    if rotation:
        v.set_display_rotation(rotation)
    a = None
    if audio:
        a = out.add_stream(audio, rate=48000 if audio == "libopus" else 44100)
        a.layout = "mono"
    s = None
    if subtitles:
        s = out.add_mux_stream("subrip")
        s.time_base = Fraction(1, 1000)
    duration_s = float((pts[-1] + (pts[-1] - pts[-2] if len(pts) > 1 else 40)) * time_base)
    for i, p in enumerate(pts):
        frame = av.VideoFrame.from_ndarray(pattern(i, w, h), format="rgb24").reformat(format=pix_fmt)
        frame.pts = p
        frame.time_base = time_base
        for packet in v.encode(frame):
            out.mux(packet)
    for packet in v.encode():
        out.mux(packet)
    if a is not None:
        rate = a.codec_context.sample_rate
        samples = int(duration_s * rate)
        t = np.arange(samples) / rate
        tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        fmt = a.codec_context.codec.audio_formats[0].name
        step = a.codec_context.frame_size or 1024
        for start in range(0, samples, step):
            chunk = tone[start:start + step][None, :]
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk.astype(np.float32)), format="fltp", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            frame = av.AudioResampler(format=fmt, layout="mono", rate=rate).resample(frame)[0] if fmt != "fltp" else frame
            frame.pts = start
            for packet in a.encode(frame):
                out.mux(packet)
        for packet in a.encode():
            out.mux(packet)
    for start_ms, dur_ms, text in subtitles or []:
        packet = av.Packet(text.encode())
        packet.pts = packet.dts = start_ms
        packet.duration = dur_ms
        packet.time_base = Fraction(1, 1000)
        packet.stream = s
        out.mux(packet)
    out.close()
    return read_video(path)


def read_video(path: Path, keep_rgb: bool = False) -> VideoFacts:
    c = av.open(str(path))
    try:
        v = c.streams.video[0]
        pts, rgb = [], []
        rotation, fmt = 0, ""
        width = height = 0
        for frame in c.decode(v):
            pts.append(frame.pts)
            rotation = int(round(frame.rotation or 0))
            fmt = frame.format.name
            width, height = frame.width, frame.height
            if keep_rgb:
                rgb.append(frame.to_ndarray(format="rgb24"))
        facts = VideoFacts(width, height, len(pts), pts, v.time_base, [p * v.time_base for p in pts],
                           rotation, v.sample_aspect_ratio or v.codec_context.sample_aspect_ratio, v.codec_context.name,
                           fmt, rgb=rgb)
    finally:
        c.close()
    c = av.open(str(path))
    try:
        if c.streams.audio:
            facts.audio_codec = c.streams.audio[0].codec_context.codec.canonical_name
            facts.audio_packets = [hashlib.md5(bytes(p)).hexdigest() for p in c.demux(c.streams.audio[0]) if p.size]
    finally:
        c.close()
    c = av.open(str(path))
    try:
        if c.streams.subtitles:
            s = c.streams.subtitles[0]
            for packet in c.demux(s):
                if packet.size:
                    for sub in packet.decode():
                        facts.subtitle_texts.append((packet.pts * s.time_base, sub.dialogue.decode()))
    finally:
        c.close()
    return facts


def video_packets(path: Path) -> list[bytes]:
    """The bytes of every video packet of ``path``, in file order."""
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(video=0) if p.size]


def make_gif(path: Path, *, size=(40, 30), durations_ms=(50, 20, 130, 70), loop: int | None = 0,
             transparent_box: bool = True) -> list[np.ndarray]:
    """An animated GIF with uneven delays and (optionally) a moving transparent box.
    Returns the RGBA frames as written."""
    w, h = size
    frames = []
    for i, _ in enumerate(durations_ms):
        rgba = np.dstack([pattern(i, w, h), np.full((h, w), 255, np.uint8)])
        if transparent_box:
            rgba[5 + i:12 + i, 20:30, 3] = 0
        frames.append(rgba)
    images = []
    for rgba in frames:
        im = Image.fromarray(rgba[..., :3]).quantize(colors=255, method=Image.Quantize.MEDIANCUT)
        idx = np.array(im)
        idx[rgba[..., 3] == 0] = 255
        p = Image.fromarray(idx, mode="P")
        pal = im.getpalette()[: 255 * 3]
        p.putpalette(pal + [0] * (768 - len(pal)))
        images.append(p)
    kwargs = {"save_all": True, "append_images": images[1:], "duration": list(durations_ms),
              "disposal": 2, "optimize": False}
    if transparent_box:
        kwargs["transparency"] = 255
    if loop is not None:
        kwargs["loop"] = loop
    images[0].save(path, **kwargs)
    return frames


@dataclass
class GifFacts:
    size: tuple[int, int]
    durations_ms: list[int]
    loop: int | None
    alpha: list[np.ndarray]
    rgb: list[np.ndarray]


def read_gif(path: Path) -> GifFacts:
    from videostyle.media.gif import read_loop_count

    with Image.open(path) as im:
        durations, alpha, rgb = [], [], []
        for i in range(getattr(im, "n_frames", 1)):
            im.seek(i)
            durations.append(im.info.get("duration", 0))
            rgba = np.array(im.convert("RGBA"))
            alpha.append(rgba[..., 3])
            rgb.append(rgba[..., :3])
        size = im.size
    return GifFacts(size, durations, read_loop_count(path), alpha, rgb)
