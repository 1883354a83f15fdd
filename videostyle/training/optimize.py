"""Per-image optimisation in the manner of Gatys et al. (2016): the slow reference.

The output image itself is optimised (Adam on its pixels, starting from the content
image) against the same :class:`~.losses.PerceptualLoss` that trains the feed-forward
networks, in the same loop (:func:`.loop.optimise`), so it shows what a loss setting can
reach at best, and can produce distillation targets. Each step draws a fresh random
jitter offset, as training does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..config import OptimizeConfig
from ..media.atomic import atomic_output
from ..media.images import fit_long_side, load_rgb, write_image
from ..network.devices import autocast, resolve_device
from ..network.tensors import to_tensor, to_uint8
from .criterion import build_perceptual_loss
from .loop import optimise, resolve_amp
from .losses import PerceptualLoss


def optimize_image(content: torch.Tensor, criterion: PerceptualLoss, steps: int = 300, lr: float = 0.02,
                   seed: int = 0, amp_dtype=None,
                   progress: Callable[[int, int, dict], None] | None = None) -> tuple[torch.Tensor, dict]:
    """Optimise an image (1, 3, H, W) in [0, 1] from ``content``; returns it and its final
    (unjittered) loss parts."""
    device = content.device
    image = content.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([image], lr=lr)
    rng = np.random.default_rng(seed)

    def step_loss(step: int):
        offset = tuple(int(v) for v in rng.integers(0, criterion.jitter + 1, size=2))
        with autocast(device, amp_dtype):
            return criterion(image, content, offset)

    def clamp() -> None:
        with torch.no_grad():
            image.clamp_(0, 1)

    report = (lambda done, parts: progress(done, steps, parts)) if progress is not None else None
    optimise(optimizer, 0, steps, step_loss, report, after_step=clamp)
    with torch.no_grad(), autocast(device, amp_dtype):
        _, parts = criterion(image, content)
    return image.detach(), {k: float(v) for k, v in parts.items()}


def optimize(config: OptimizeConfig, progress: Callable[[int, int, dict], None] | None = None) -> dict:
    """Stylize one image by optimisation and write it to ``config.out``; returns the loss parts."""
    device = resolve_device(config.device)
    amp_dtype = resolve_amp(config.amp, device)
    image = load_rgb(config.content)
    if config.max_size and max(image.size) > config.max_size:
        image = fit_long_side(image, config.max_size)
    content = to_tensor(image)[None].to(device)
    criterion = build_perceptual_loss(config, config.style, device, config.channels_last)
    torch.manual_seed(config.seed)
    result, parts = optimize_image(content, criterion, config.steps, config.lr, config.seed, amp_dtype, progress)
    out = Path(config.out)
    with atomic_output(out) as tmp:
        write_image(tmp, out, to_uint8(result[0]), None)
    return parts
