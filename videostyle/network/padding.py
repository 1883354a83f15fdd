"""The padding around the network that lets it take any frame size: both sides become
multiples of 4 (two stride-2 convolutions, two 2x upsamplings) and at least 16 px, by
reflection where the frame is large enough to reflect, else by repetition. The Stylizer,
the exported graphs and the evaluation all pad this one way."""

from __future__ import annotations

import torch
import torch.nn.functional as F

MULTIPLE = 4
MIN_SIDE = 16


def pad_amounts(height: int, width: int) -> tuple[int, int]:
    """(bottom, right) padding that makes both sides multiples of 4 and at least 16."""
    def need(n: int) -> int:
        target = max(MIN_SIDE, -(-n // MULTIPLE) * MULTIPLE)
        return target - n
    return need(height), need(width)


def pad(batch: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
    """``batch`` padded at the bottom and right, and its (height, width) before."""
    h, w = batch.shape[-2:]
    bottom, right = pad_amounts(h, w)
    if bottom or right:
        mode = "reflect" if bottom < h and right < w else "replicate"
        batch = F.pad(batch, (0, right, 0, bottom), mode=mode)
    return batch, (h, w)
