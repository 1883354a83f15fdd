"""Distilling a model into a small, fast one: ``distill(DistillConfig(...))``.

The student is a narrower :class:`~videostyle.network.transformer_net.TransformerNet`
(by default 8 channels, 5 residual blocks, 5x5 convolutions at both ends: about a
sixteenth of the full network's arithmetic per pixel, 6-8x its frames/s on a CPU, since
the small layers are bound by memory traffic rather than arithmetic). It is trained on
random crops of photos to give the teacher's output: a pixel term (mean absolute
difference) and the teacher card's perceptual losses with the teacher's output as the
content target, so the content term compares loss-network features of student and
teacher. Half of each batch is the second frame of a synthetic motion pair
(:mod:`videostyle.temporal.motion`), and an output temporal term acts on those pairs as
in :mod:`.finetune`: it is on by default because matching the ``-stable`` teacher's
pixels does not make the student steady. The student's own error is texture that does
not move with the picture; without the term an 8-channel student flickered 1.5-6x as
much as its teacher (docs/fast-models.md).

The teacher runs once per step without gradients, in the same precision as the
student. Samples, held-out losses (of the teacher card's loss settings), checkpoints and
exact resume work as in :mod:`.train`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..config import DistillConfig
from ..errors import ConfigError
from ..network.devices import autocast
from ..network.models import load_model, read_card, resolve_model
from ..temporal.losses import output_temporal_loss
from ..temporal.motion import synthetic_pairs
from . import checkpoints
from .cards import distill_card
from .criterion import build_perceptual_loss, options_from_card, with_boosts
from .loop import Prefetcher, TrainingRun
from .train import TrainResult


def teacher_losses(teacher: str, style_boost: float = 1.0, content_boost: float = 1.0):
    """(the teacher's card, its loss options with the style and content weights times
    ``style_boost`` and ``content_boost``, its style image)."""
    card = read_card(resolve_model(teacher)[1])
    if not card.get("loss_network"):
        raise ConfigError(f"{teacher} has no model card recording its losses; distil a model trained here "
                          "or a shipped one")
    style = card.get("style", {}).get("path")
    if not style or not Path(style).is_file():
        raise ConfigError(f"the style image of {teacher} is not here ({style or 'not named in its card'}); "
                          "distil from where its card's style path resolves")
    return card, with_boosts(options_from_card(card, jitter=0), style_boost, content_boost), style


def distill(config: DistillConfig, progress: Callable[[int, int, dict], None] | None = None) -> TrainResult:
    """Train a fast student of ``config.teacher``; returns where its model and run files went."""
    if not 0 <= config.pair_share <= 1:
        raise ConfigError(f"pair share must be between 0 and 1, got {config.pair_share}")
    card, losses, style = teacher_losses(config.teacher, config.style_boost, config.content_boost)
    run = TrainingRun(config, "distill", init_model=None, channels=config.channels,
                      residual_blocks=config.residual_blocks, end_kernel=config.end_kernel,
                      crop_px=config.image_size, photo_px=config.photo_size)
    device, amp_dtype = run.device, run.amp_dtype
    criterion = build_perceptual_loss(losses, style, device, config.channels_last)
    teacher = load_model(config.teacher).to(device).eval().requires_grad_(False)
    if config.channels_last:
        teacher = teacher.to(memory_format=torch.channels_last)
    prefetch = Prefetcher(lambda step: run.data.batch(step, config.batch_size))
    student = run.model
    pairs = round(config.batch_size * config.pair_share)

    def step_loss(step: int):
        rng = np.random.default_rng([config.seed, step, 4])
        photos = prefetch.get(step, prefetch=step + 1 < run.steps).to(device)
        first, second, flow, mask = synthetic_pairs(photos[:pairs], config.motion, rng)
        inputs = run.channels(torch.cat([photos[pairs:], first, second]).mul(255))
        with autocast(device, amp_dtype):
            with torch.no_grad():
                target = (teacher(inputs) / 255).clamp(0, 1)
            output = student(inputs) / 255
            perceptual, parts = criterion(output, target)
        pixel = F.l1_loss(output.float(), target.float())
        temporal = (output_temporal_loss(output[-2 * pairs:-pairs], output[-pairs:], flow.to(device), mask.to(device))
                    if pairs and config.temporal_weight else torch.zeros((), device=device))
        loss = config.pixel_weight * pixel + config.perceptual_weight * perceptual + config.temporal_weight * temporal
        # parts["content"]: the student's feature distance to the teacher's output, not to the photo
        parts = {**parts, "pixel": pixel.detach(),
                 "perceptual": perceptual.detach(), "temporal": temporal.detach(), "total": loss.detach()}
        return loss, parts

    t0 = time.perf_counter()
    parts = run.loop(step_loss, criterion, progress)
    wall_s = run.training_seconds(time.perf_counter() - t0)
    run.progress.finish(["pixel", "perceptual", "temporal"],
                        {"pixel": config.pixel_weight, "perceptual": config.perceptual_weight,
                         "temporal": config.temporal_weight})
    out_card = distill_card(config, card, losses, style, run.steps, wall_s, parts, device, amp_dtype,
                            len(run.data), len(run.data.unreadable), student.architecture)
    checkpoints.save_model(Path(config.out), student, out_card)
    return TrainResult(Path(config.out), config.run_folder(), run.steps, wall_s, parts, len(run.data.unreadable),
                       run.history)
