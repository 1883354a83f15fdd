"""Stylizing a frame too large for memory, tile by tile, with the whole frame's result.

Most of the transform network's memory goes to the full-resolution layers at both ends
(32 channels per pixel, and their instance norms need the statistics of the whole
frame). The middle — the residual blocks at a quarter of the size — holds a sixteenth
of the pixels. So the ends run in tiles and the middle runs whole:

1. the encoder's three convolutions run tile by tile, each tile with a margin of real
   picture around it; each instance norm's mean and variance are summed over the tiles'
   cores first (one pass per norm, earlier norms using the statistics already found),
   then the quarter-size feature map is assembled from the cores;
2. the residual blocks run on the whole (small) map;
3. the decoder runs tile by tile over that map again, after one pass for each of its
   two norms' statistics.

Tiles start on a grid of 4 pixels, so the strided layers sample exactly where they do
on the whole frame, and the margin is wider than the layers' reach: each core is what
the whole frame gives (the tests hold it to a grey level). Memory: about 200 bytes per
pixel in fp32 (186 measured at 3840x2160), against about 1,100 for the whole frame at
once.
"""

from __future__ import annotations

import torch

from .transformer_net import TransformerNet

MARGIN = 32  # px of the map around a tile's core; the layers of one pass reach under 8
TILE = 512  # px: large enough that the margins cost little, small enough for any device
MULTIPLE = 4


def _cores(size: int, tile: int) -> list[tuple[int, int]]:
    """[start, end) of tile cores along one side, on the grid of 4."""
    tile = max(MULTIPLE, tile - tile % MULTIPLE)
    return [(start, min(start + tile, size)) for start in range(0, size, tile)]


def _tiles(height: int, width: int, tile: int):
    """Per tile: its crop of the map (y0, y1, x0, x1) with the margin, and where its core
    lies in the crop and in the whole map (rows, columns)."""
    for top, bottom in _cores(height, tile):
        for left, right in _cores(width, tile):
            y0, y1 = max(0, top - MARGIN), min(height, bottom + MARGIN)
            x0, x1 = max(0, left - MARGIN), min(width, right + MARGIN)
            core = (slice(top - y0, bottom - y0), slice(left - x0, right - x0))
            yield (y0, y1, x0, x1), core, (slice(top, bottom), slice(left, right))


def _norm(x: torch.Tensor, norm, stats: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    mean, var = stats
    y = (x - mean.to(x.dtype)) * torch.rsqrt(var.to(x.dtype) + norm.eps)
    return y * norm.weight.view(1, -1, 1, 1).to(x.dtype) + norm.bias.view(1, -1, 1, 1).to(x.dtype)


class _Moments:
    """Per-channel mean and variance accumulated over pieces of one map (in float64)."""

    def __init__(self):
        self.count, self.sum, self.squares = 0, 0.0, 0.0

    def add(self, x: torch.Tensor) -> None:
        x = x.double()
        self.count += x.shape[-1] * x.shape[-2]
        self.sum = self.sum + x.sum(dim=(0, 2, 3))
        self.squares = self.squares + (x * x).sum(dim=(0, 2, 3))

    def stats(self) -> tuple[torch.Tensor, torch.Tensor]:
        mean = self.sum / self.count
        var = (self.squares / self.count - mean * mean).clamp_min(0)
        return mean.float().view(1, -1, 1, 1), var.float().view(1, -1, 1, 1)


def _encoder(model: TransformerNet, x: torch.Tensor, stats: list, depth: int) -> torch.Tensor:
    """The encoder's input to norm ``depth`` (0, 1, 2), or its output (3), for a crop,
    with the norms before it using ``stats``."""
    convs, norms = (model.conv1, model.conv2, model.conv3), (model.in1, model.in2, model.in3)
    y = x
    for i in range(depth + 1):
        if i == 3:
            break
        y = convs[i](y)
        if i == depth:
            return y
        y = model.relu(_norm(y, norms[i], stats[i]))
    return y


@torch.no_grad()
def stylize_tiled(model: TransformerNet, x: torch.Tensor, tile: int) -> torch.Tensor:
    """The network's output for one (1, 3, H, W) frame on the 0–255 scale (H, W multiples
    of 4), computed with tiles of ``tile`` px at full resolution; unclamped, as ``model(x)``."""
    _, _, h, w = x.shape
    stats: list = []
    for depth, scale in ((0, 1), (1, 2), (2, 4)):  # one pass per encoder norm
        moments = _Moments()
        for (y0, y1, x0, x1), core, _ in _tiles(h, w, tile):
            moments.add(_encoder(model, x[..., y0:y1, x0:x1], stats, depth)[(..., *_scaled(core, scale))])
        stats.append(moments.stats())
    features = None
    for (y0, y1, x0, x1), core, whole in _tiles(h, w, tile):
        part = _encoder(model, x[..., y0:y1, x0:x1], stats, 3)
        if features is None:
            features = part.new_zeros(1, part.shape[1], h // 4, w // 4)
        features[(..., *_scaled(whole, 4))] = part[(..., *_scaled(core, 4))]
    for i in range(1, model.residual_blocks + 1):
        features = getattr(model, f"res{i}")(features)
    # the decoder, tile by tile over the quarter-size map: its two norms, then the output
    quarter = tile // 4
    moments = _Moments()
    for (y0, y1, x0, x1), core, _ in _tiles(h // 4, w // 4, quarter):
        moments.add(model.deconv1(features[..., y0:y1, x0:x1])[(..., *_scaled(core, 1, 2))])
    stats.append(moments.stats())

    def half(crop: torch.Tensor) -> torch.Tensor:
        return model.relu(_norm(model.deconv1(crop), model.in4, stats[3]))

    moments = _Moments()
    for (y0, y1, x0, x1), core, _ in _tiles(h // 4, w // 4, quarter):
        moments.add(model.deconv2(half(features[..., y0:y1, x0:x1]))[(..., *_scaled(core, 1, 4))])
    stats.append(moments.stats())
    out = x.new_zeros(1, 3, h, w, dtype=torch.float32)
    for (y0, y1, x0, x1), core, whole in _tiles(h // 4, w // 4, quarter):
        y = model.relu(_norm(model.deconv2(half(features[..., y0:y1, x0:x1])), model.in5, stats[4]))
        out[(..., *_scaled(whole, 1, 4))] = model.deconv3(y)[(..., *_scaled(core, 1, 4))].float()
    if model.contrast_ramp > 0:  # the ramp reads the whole frame's contrast, as untiled
        out = model.fade_low_contrast(x, out.to(x.dtype)).float()
    return out


def _scaled(region: tuple[slice, slice], scale: int, up: int = 1) -> tuple[slice, slice]:
    """A (rows, columns) region at 1/``scale`` (or ``up`` times) of its size."""
    return tuple(slice(s.start * up // scale, s.stop * up // scale) for s in region)
