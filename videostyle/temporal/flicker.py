"""Flicker as a number: the temporal warping error of Lai et al. (2018).

For consecutive frames t, t+1 of the ORIGINAL video, optical flow F (t → t+1) and its
occlusion mask M (forward–backward consistency and motion boundaries, Ruder et al.
2016 thresholds; see :mod:`videostyle.flow`) are computed once. In videos and GIFs with
transparency, M also drops the ORIGINAL's fully transparent pixels and those whose alpha
changes along F: they moved into or out of a hole, which is an occlusion too (without
this, a moving hole's edge counted the stylized colours' distance to the background as
flicker). The STYLIZED frame t+1 is warped back onto frame t along F, and

    E(t) = sum over M of |O_t − warp(O_{t+1}, F)|² / (number of masked values),

with RGB in [0, 1] (the mean over masked pixels and channels). The warping error is the
mean of E(t) over all pairs but scene cuts. The same number for the ORIGINAL video
itself is the *floor* (what flow errors, noise and lighting leave); ``ratio`` = error /
floor. Frames are paired by their presentation times, so VFR videos and GIFs are
measured as they play.

Scene cuts (:mod:`videostyle.temporal.cuts`) stay in ``per_frame`` (``"cut": true``) and
are counted in ``cuts``, but not in the means: across a cut no flow is right, and such
pairs would measure the distance between two shots' colours, not flicker.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import InputError
from ..media.atomic import atomic_output
from ..media.decode import VideoSource
from ..media.images import flatten_alpha
from ..plotting import line_plot
from .cuts import is_scene_cut
from .flow import flow_and_mask, warp_array


@dataclass
class FlickerResult:
    original: str
    stylized: str
    frames: int
    warping_error: float
    floor: float
    ratio: float
    cuts: int = 0
    per_frame: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def masked_error(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """Mean squared difference over the masked pixels and all channels, for images in [0, 1]."""
    if not mask.any():
        return 0.0
    diff = (a.astype(np.float32) - b.astype(np.float32))[mask]
    return float((diff ** 2).mean())


def _frames(source: VideoSource):
    for frame in source.frames():
        yield frame.pts * frame.time_base, flatten_alpha(frame.rgb, frame.alpha), frame.alpha


def warping_error(original: str | os.PathLike, stylized: str | os.PathLike,
                  progress: Callable[[int, int | None], None] | None = None) -> FlickerResult:
    """Measure ``stylized`` against the motion of ``original``; see the module docstring."""
    per_frame: list[dict] = []
    with VideoSource(original) as src_a, VideoSource(stylized) as src_b:
        if src_a.info.frame_size != src_b.info.frame_size:
            raise InputError(f"frame size {src_b.info.frame_size[0]}x{src_b.info.frame_size[1]} differs from the "
                             f"original's {src_a.info.frame_size[0]}x{src_a.info.frame_size[1]}", stylized)
        tolerance = max(Fraction(1, 1000), src_a.info.time_base, src_b.info.time_base)
        frames_a, frames_b = _frames(src_a), _frames(src_b)
        previous = None
        count = 0
        total = src_a.info.frame_count
        while True:
            a, b = next(frames_a, None), next(frames_b, None)
            if a is None or b is None:
                if a is not None or b is not None:
                    more_a = count + (a is not None) + sum(1 for _ in frames_a)
                    more_b = count + (b is not None) + sum(1 for _ in frames_b)
                    raise InputError(f"has {more_b} frames, the original {more_a}; "
                                     "both must have the same frames", stylized)
                break
            (time_a, rgb_a, alpha_a), (time_b, rgb_b, _) = a, b
            if abs(time_a - time_b) > tolerance:
                raise InputError(f"frame {count} is at {float(time_b):.3f} s, the original's at "
                                 f"{float(time_a):.3f} s; the frames cannot be paired", stylized)
            if previous is not None:
                prev_a, prev_alpha, prev_b, prev_time = previous
                forward, mask = flow_and_mask(prev_a, rgb_a, prev_alpha, alpha_a)
                err_b = masked_error(prev_b / 255.0, warp_array(rgb_b, forward) / 255.0, mask)
                err_a = masked_error(prev_a / 255.0, warp_array(rgb_a, forward) / 255.0, mask)
                per_frame.append({"index": count - 1, "time_s": float(prev_time), "warping_error": err_b,
                                  "floor": err_a, "mask_fraction": float(mask.mean()),
                                  "cut": is_scene_cut(mask, prev_a, rgb_a)})
            previous = (rgb_a, alpha_a, rgb_b, time_a)
            count += 1
            if progress:
                progress(count, total)
    if count < 2:
        raise InputError("needs at least two frames to measure flicker", original)
    measured = [f for f in per_frame if not f["cut"]]
    if not measured:
        raise InputError(f"every one of its {len(per_frame)} frame pairs is a scene cut: there is no motion "
                         "to measure flicker along", original)
    error = float(np.mean([f["warping_error"] for f in measured]))
    floor = float(np.mean([f["floor"] for f in measured]))
    return FlickerResult(str(original), str(stylized), count, error, floor,
                         error / floor if floor > 0 else float("inf"), len(per_frame) - len(measured), per_frame)


def plot(results: FlickerResult | list[FlickerResult], path: str | os.PathLike) -> None:
    """PNG of the per-frame warping error over time: each stylized video, and the
    original's own error (the floor). Scene cuts are left out, as from the means (their
    spikes would set the scale)."""
    results = [results] if isinstance(results, FlickerResult) else list(results)
    first = results[0]
    times = [f["time_s"] for f in first.per_frame]

    def values(result: FlickerResult, key: str) -> list[float]:
        return [float("nan") if f["cut"] else f[key] for f in result.per_frame]  # line_plot skips NaN

    series = {f"{Path(r.stylized).name} (mean {r.warping_error:.4g}, ratio {r.ratio:.2f})":
              ([f["time_s"] for f in r.per_frame], values(r, "warping_error")) for r in results}
    series[f"{Path(first.original).name}, floor (mean {first.floor:.4g})"] = (times, values(first, "floor"))
    title = "temporal warping error per frame" + (f" ({first.cuts} scene cuts left out)" if first.cuts else "")
    image = line_plot(series, title, "time (s)", "warping error", size=(1000, 500))
    out = Path(path)
    with atomic_output(out) as tmp:
        image.save(tmp, format="PNG")
