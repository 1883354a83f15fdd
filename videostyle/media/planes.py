"""A decoded frame's 8-bit 4:2:0 planes as arrays, and back.

This is what the device colour path carries instead of RGB: on a GPU the planes (half
the bytes of RGB) cross the bus and are converted on the device
(:mod:`videostyle.network.yuv`), which saves the CPU two swscale passes per frame. The
path applies where nothing between the decoder and the encoder needs RGB on the CPU:
a ``yuv420p`` (or ``yuvj420p``) source without alpha, written as ``yuv420p``, with no look and no frame
filter (:func:`videostyle.pipeline.file.stylize_file` decides).
"""

from __future__ import annotations

import av
import numpy as np

PLANAR_FORMAT = "yuv420p"
SOURCE_FORMATS = (PLANAR_FORMAT, "yuvj420p")  # yuvj420p: the same planes in full range
Planes = tuple[np.ndarray, np.ndarray, np.ndarray]  # Y (H, W), U and V (ceil(H/2), ceil(W/2))


def planes_of(frame: av.VideoFrame) -> Planes:
    """Copies of the Y, U and V planes of a ``yuv420p`` frame, without the line padding."""
    if frame.format.name not in SOURCE_FORMATS:
        raise ValueError(f"planes_of needs a {PLANAR_FORMAT} frame, not {frame.format.name}")
    out = []
    for plane in frame.planes:
        rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        out.append(np.ascontiguousarray(rows[:, :plane.width]))
    return out[0], out[1], out[2]


def frame_of(planes: Planes) -> av.VideoFrame:
    """A ``yuv420p`` frame holding ``planes``."""
    height, width = planes[0].shape
    frame = av.VideoFrame(width, height, PLANAR_FORMAT)
    for plane, data in zip(frame.planes, planes):
        if data.shape != (plane.height, plane.width):
            raise ValueError(f"plane of shape {data.shape} for a {width}x{height} {PLANAR_FORMAT} frame")
        padded = np.zeros((plane.height, plane.line_size), np.uint8)
        padded[:, :plane.width] = data
        plane.update(padded)
    return frame


def rotate_planes(planes: Planes, turns: int) -> Planes:
    """Each plane turned ``turns`` quarter turns counter-clockwise (``np.rot90``): the
    chroma planes stay half the luma's size in each direction, rounded up."""
    if not turns % 4:
        return planes
    y, u, v = (np.ascontiguousarray(np.rot90(p, turns)) for p in planes)
    return y, u, v


def full_range(pix_fmt: str, color_range: int) -> bool:
    """Whether a stream's planes use the full 0-255 range (tagged so, or ``yuvj420p``)."""
    return int(color_range) == 2 or pix_fmt == "yuvj420p"
