"""Per-image optimisation in the manner of Gatys et al. (2016): the slow reference.

The output image itself is optimised (Adam on its pixels, starting from the content
image) against the same :class:`~videostyle.losses.PerceptualLoss` that trains the
feed-forward networks, so it shows what a loss setting can reach at best, and can
produce distillation targets. Each step draws a fresh random jitter offset, as training
does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .devices import autocast
from .losses import PerceptualLoss
from .training import LossOptions


@dataclass(frozen=True, kw_only=True)
class OptimizeConfig(LossOptions):
    """``videostyle optimize``: see ``--help``. Loss fields as in TrainConfig."""

    content: str
    style: str
    out: str
    steps: int = 300
    lr: float = 0.02
    max_size: int | None = 384
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    channels_last: bool = True


def optimize_image(content: torch.Tensor, criterion: PerceptualLoss, steps: int = 300, lr: float = 0.02,
                   seed: int = 0, amp_dtype=None,
                   progress: Callable[[int, int, dict], None] | None = None) -> tuple[torch.Tensor, dict]:
    """Optimise an image (1, 3, H, W) in [0, 1] from ``content``; returns it and its final
    (unjittered) loss parts."""
    device = content.device
    image = content.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([image], lr=lr)
    rng = np.random.default_rng(seed)
    for step in range(steps):
        offset = tuple(int(v) for v in rng.integers(0, criterion.jitter + 1, size=2))
        with autocast(device, amp_dtype):
            loss, parts = criterion(image, content, offset)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            image.clamp_(0, 1)
        if progress is not None:
            progress(step + 1, steps, {k: float(v) for k, v in parts.items()})
    with torch.no_grad(), autocast(device, amp_dtype):
        _, parts = criterion(image, content, (0, 0))
    return image.detach(), {k: float(v) for k, v in parts.items()}


def optimize(config: OptimizeConfig, progress: Callable[[int, int, dict], None] | None = None) -> dict:
    """Stylize one image by optimisation and write it to ``config.out``; returns the loss parts."""
    from PIL import Image

    from .data import load_rgb, to_tensor
    from .decode import scaled_size
    from .devices import resolve_device
    from .images import write_image
    from .outputs import atomic_output
    from .training import amp_dtype_for, build_perceptual_loss
    from pathlib import Path

    device = resolve_device(config.device)
    amp_dtype = amp_dtype_for(config, device)
    image = load_rgb(config.content)
    w, h = scaled_size(image.width, image.height, config.max_size)
    content = to_tensor(image.resize((w, h), Image.Resampling.LANCZOS))[None].to(device)
    criterion = build_perceptual_loss(config, device)
    torch.manual_seed(config.seed)
    result, parts = optimize_image(content, criterion, config.steps, config.lr, config.seed, amp_dtype, progress)
    rgb = (result[0].permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8)
    out = Path(config.out)
    with atomic_output(out) as tmp:
        write_image(tmp, out, rgb, None)
    return parts
