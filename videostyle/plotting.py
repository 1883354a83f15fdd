"""Small PNG figures drawn with Pillow: image grids and line plots (no matplotlib needed)."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def _font(size: int = 14) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def to_pil(image: torch.Tensor | np.ndarray | Image.Image) -> Image.Image:
    """(3, H, W) float tensor in [0, 1], (H, W, 3) uint8 array, or a PIL image."""
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, torch.Tensor):
        image = (image.detach().float().clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(np.ascontiguousarray(image))


def image_grid(rows: Sequence[Sequence], row_labels: Sequence[str] | None = None,
               column_labels: Sequence[str] | None = None, cell: int = 256, gap: int = 4) -> Image.Image:
    """Images laid out in rows, each fitted into a ``cell``-pixel square, with labels."""
    n_cols = max(len(r) for r in rows)
    left = 110 if row_labels else 0
    top = 22 if column_labels else 0
    grid = Image.new("RGB", (left + n_cols * (cell + gap) + gap, top + len(rows) * (cell + gap) + gap), "white")
    draw = ImageDraw.Draw(grid)
    font = _font()
    for c, label in enumerate(column_labels or []):
        draw.text((left + gap + c * (cell + gap), 4), label, fill="black", font=font)
    for r, row in enumerate(rows):
        y = top + gap + r * (cell + gap)
        if row_labels:
            draw.text((4, y + cell // 2 - 8), row_labels[r], fill="black", font=font)
        for c, image in enumerate(row):
            im = to_pil(image)
            im.thumbnail((cell, cell), Image.Resampling.LANCZOS)
            x = left + gap + c * (cell + gap)
            grid.paste(im, (x + (cell - im.width) // 2, y + (cell - im.height) // 2))
    return grid


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / count
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * step:
            step *= m
            break
    start = math.ceil(lo / step) * step
    return [start + i * step for i in range(int((hi - start) / step) + 1)]


def line_plot(series: Mapping[str, tuple[Sequence[float], Sequence[float]]], title: str,
              xlabel: str, ylabel: str, log_y: bool = False, size: tuple[int, int] = (900, 500)) -> Image.Image:
    """One panel, one line per series; ``log_y`` plots log10 of positive values."""
    width, height = size
    left, right, top, bottom = 80, 180, 40, 50
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = _font(13)
    clean = {}
    for name, (xs, ys) in series.items():
        pts = [(float(x), float(y)) for x, y in zip(xs, ys)
               if math.isfinite(float(y)) and (not log_y or float(y) > 0)]
        if pts:
            clean[name] = [(x, math.log10(y) if log_y else y) for x, y in pts]
    # the legend sits right of the panel: make room for its longest entry
    right = max(right, 45 + max((int(draw.textlength(name, font=font)) for name in series), default=0))
    draw.text((left, 12), title, fill="black", font=_font(16))
    if not clean:
        draw.text((left, height // 2), "no data", fill="black", font=font)
        return image
    xs = [x for pts in clean.values() for x, _ in pts]
    ys = [y for pts in clean.values() for _, y in pts]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1
    pad = (y1 - y0) * 0.05
    y0, y1 = y0 - pad, y1 + pad
    pw, ph = width - left - right, height - top - bottom

    def to_px(x: float, y: float) -> tuple[float, float]:
        return left + (x - x0) / (x1 - x0) * pw, top + ph - (y - y0) / (y1 - y0) * ph

    draw.rectangle([left, top, left + pw, top + ph], outline="black")
    for t in _nice_ticks(x0, x1):
        px, _ = to_px(t, y0)
        draw.line([px, top + ph, px, top + ph + 4], fill="black")
        draw.text((px - 12, top + ph + 6), f"{t:g}", fill="black", font=font)
    for t in _nice_ticks(y0, y1):
        _, py = to_px(x0, t)
        draw.line([left - 4, py, left, py], fill="black")
        draw.line([left, py, left + pw, py], fill="#e6e6e6")
        label = f"1e{t:g}" if log_y else f"{t:.3g}"
        draw.text((4, py - 7), label, fill="black", font=font)
    draw.text((left + pw // 2 - 20, height - 20), xlabel, fill="black", font=font)
    draw.text((4, top - 18), ylabel + (" (log scale)" if log_y else ""), fill="black", font=font)
    for i, (name, pts) in enumerate(clean.items()):
        colour = COLOURS[i % len(COLOURS)]
        px = [to_px(x, y) for x, y in pts]
        if len(px) > 1:
            draw.line(px, fill=colour, width=2)
        else:
            draw.ellipse([px[0][0] - 2, px[0][1] - 2, px[0][0] + 2, px[0][1] + 2], fill=colour)
        draw.line([width - right + 10, top + 10 + 18 * i, width - right + 30, top + 10 + 18 * i], fill=colour, width=3)
        draw.text((width - right + 35, top + 3 + 18 * i), name, fill="black", font=font)
    return image
