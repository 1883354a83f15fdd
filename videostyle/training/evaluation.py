"""Held-out losses: how well a network does on photos it never trained on.

Training losses are measured on the crops of the step they optimise, jittered, at the
training crop size; they fall whether or not the network generalises. The held-out
losses run whole photos (long side ``size`` px, aspect kept) through the network and
the same perceptual loss without jitter, so that curves from different crop sizes,
schedules and runs compare, and they match ``benchmarks/quality.py``'s table.
"""

from __future__ import annotations

import logging
import os
from typing import Sequence

import numpy as np
import torch

from ..errors import InputError
from ..media.images import fit_long_side, load_rgb
from ..network.devices import autocast
from ..network.padding import pad
from ..network.tensors import to_tensor
from .losses import PerceptualLoss

log = logging.getLogger(__name__)


def load_photos(paths: Sequence[str | os.PathLike], size: int) -> list[torch.Tensor]:
    """(1, 3, H, W) tensors in [0, 1] with long side ``size``; unreadable files are left
    out with a warning."""
    photos = []
    for path in paths:
        try:
            photos.append(to_tensor(fit_long_side(load_rgb(path), size))[None])
        except InputError as error:
            log.warning("leaving unreadable held-out image %s out of the evaluation (%s)", path, error.reason)
    return photos


def stylize_photo(model: torch.nn.Module, photo: torch.Tensor, device: torch.device,
                  amp_dtype: torch.dtype | None = None) -> torch.Tensor:
    """The network's output for one photo (1, 3, H, W) in [0, 1], clamped to [0, 1]."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), autocast(device, amp_dtype):
            padded, (h, w) = pad(photo.to(device) * 255)  # as Stylizer does: any size works
            out = model(padded)[..., :h, :w].float() / 255
    finally:
        model.train(was_training)
    return out.clamp(0, 1)


def held_out_losses(model: torch.nn.Module, criterion: PerceptualLoss, photos: Sequence[torch.Tensor],
                    device: torch.device, amp_dtype: torch.dtype | None = None) -> dict[str, float]:
    """Mean unweighted content and style loss (and their weighted total) over ``photos``.

    The loss itself runs in fp32 so that numbers from bf16 and fp32 training compare."""
    rows = []
    for photo in photos:
        output = stylize_photo(model, photo, device, amp_dtype)
        with torch.no_grad():
            _, parts = criterion(output, photo.to(device))
        rows.append({k: float(parts[k]) for k in ("content", "style", "total")})
    return {k: float(np.mean([r[k] for r in rows])) for k in ("content", "style", "total")} if rows else {}
