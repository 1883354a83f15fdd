"""Fine-tuning a model for temporal stability: ``finetune(FinetuneConfig(...))``.

Starts from any model (shipped name, a file trained here, or a pytorch/examples
``.pth``) and keeps its style with the same content/style/TV losses — read from the
model card beside the weights when there is one, otherwise the loss network's
defaults or the values given — while adding three temporal terms on frame pairs
(:mod:`videostyle.temporal`):

- output: masked ‖O₂ − warp(O₁)‖² (``temporal_weight``);
- features: the same on the encoder output, ReCoNet-style (``feature_weight``);
- noise: ‖T(I + n) − T(I)‖² for Gaussian n (``noise_weight``, ``noise_std``; Gupta et al.).

Pairs are synthetic motion on photos (:mod:`videostyle.temporal.motion`), optionally
degraded as real footage is (:mod:`videostyle.temporal.degrade`), and, with ``videos``,
consecutive frames of real clips. Samples, checkpoints and exact resume work as in
:mod:`.train`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..config import FinetuneConfig, LossOptions
from ..errors import ConfigError
from ..network.devices import autocast
from ..network.models import read_card, resolve_model
from ..temporal.degrade import compress_pairs, drift_pairs, gif_pairs
from ..temporal.losses import feature_temporal_loss, noise_stability_loss, output_temporal_loss
from ..temporal.motion import synthetic_pairs
from ..temporal.video_pairs import VideoPairs
from . import checkpoints
from .cards import finetune_card
from .criterion import LOSS_FIELDS, build_perceptual_loss, options_from_card, with_boosts
from .loop import Prefetcher, TrainingRun
from .train import TrainResult


def resolve_losses(config: FinetuneConfig, card: dict) -> tuple[LossOptions, str]:
    """(the loss options to keep, the style image): given values, else the model card's,
    else the loss network's defaults; a style weight not given is the card's times
    ``style_boost`` (the temporal terms pull against the style)."""
    given = {k: getattr(config, k) for k in LOSS_FIELDS}
    options = options_from_card(card, config.loss_net, vgg_weights=config.vgg_weights,
                                pretrained_loss_net=config.pretrained_loss_net, antialias=config.antialias,
                                style_size=config.style_size, jitter=config.jitter, **given)
    if config.style_weight is None:
        options = with_boosts(options, style=config.style_boost)
    style = config.style or card.get("style", {}).get("path")
    if not style or not Path(style).is_file():
        raise ConfigError(f"the style image of {config.model} is not known here "
                          f"({style or 'the model has no card naming it'}); pass --style IMAGE")
    return options, style


def finetune(config: FinetuneConfig, progress: Callable[[int, int, dict], None] | None = None) -> TrainResult:
    """Fine-tune ``config.model`` for stability; returns where the model and run files went."""
    card = read_card(resolve_model(config.model)[1])
    losses, style = resolve_losses(config, card)
    run = TrainingRun(config, "finetune", init_model=config.model, channels=0, residual_blocks=0,
                      crop_px=config.image_size, photo_px=config.photo_size)
    device, amp_dtype = run.device, run.amp_dtype
    criterion = build_perceptual_loss(losses, style, device, config.channels_last)
    real = VideoPairs(config.videos, config.image_size, config.seed) if config.videos else None
    prefetch = Prefetcher(lambda step: run.data.batch(step, config.batch_size))
    model = run.model

    def step_loss(step: int):
        rng = np.random.default_rng([config.seed, step, 3])
        photos = prefetch.get(step, prefetch=step + 1 < run.steps)
        first, second, flow, mask = synthetic_pairs(photos, config.motion, rng)
        first, second = compress_pairs(first, second, config.compressed_share, rng)
        first, second = gif_pairs(first, second, config.gif_share, rng)
        second = drift_pairs(second, config.drift_std, rng)
        if real is not None:
            take = rng.random(config.batch_size) < config.real_pair_fraction
            if take.any():
                r1, r2, rf, rm = real.sample(int(take.sum()), rng)
                idx = torch.from_numpy(np.flatnonzero(take))
                first, second, flow, mask = first.clone(), second.clone(), flow.clone(), mask.clone()
                first[idx], second[idx], flow[idx], mask[idx] = r1, r2, rf, rm
        noise = torch.from_numpy(rng.normal(0, config.noise_std, size=first.shape).astype(np.float32))
        first, second, flow, mask = (t.to(device) for t in (first, second, flow, mask))
        noisy = (first + noise.to(device)).clamp(0, 1)
        inputs = run.channels(torch.cat([first, second, noisy]).mul(255))
        offset = tuple(int(v) for v in rng.integers(0, config.jitter + 1, size=2))
        with autocast(device, amp_dtype):
            features = model.encode(inputs)
            outputs = model.decode(features) / 255
            b = first.shape[0]
            out1, out2, out_noisy = outputs[:b], outputs[b:2 * b], outputs[2 * b:]
            perceptual, parts = criterion(out1, first, offset)
        temporal = output_temporal_loss(out1, out2, flow, mask)
        feature = feature_temporal_loss(features[:b], features[b:2 * b], flow, mask)
        noise_term = noise_stability_loss(out1, out_noisy)
        # the temporal terms come in over the first ``temporal_warmup`` steps: at full weight
        # from the first step they pull the style apart before it can adapt
        ramp = min(1.0, (step + 1) / config.temporal_warmup) if config.temporal_warmup else 1.0
        loss = perceptual + ramp * (config.temporal_weight * temporal + config.feature_weight * feature
                                    + config.noise_weight * noise_term)
        parts = {**parts, "perceptual": perceptual.detach(), "temporal": temporal.detach(),
                 "feature": feature.detach(), "noise": noise_term.detach(), "total": loss.detach()}
        return loss, parts

    t0 = time.perf_counter()
    parts = run.loop(step_loss, criterion, progress)
    wall_s = run.training_seconds(time.perf_counter() - t0)
    run.progress.finish(["perceptual", "temporal", "feature", "noise"],
                        {"temporal": config.temporal_weight, "feature": config.feature_weight,
                         "noise": config.noise_weight})
    out_card = finetune_card(config, card, losses, style, run.steps, wall_s, parts, device, len(run.data),
                             len(run.data.unreadable), model.architecture)
    checkpoints.save_model(Path(config.out), model, out_card)
    return TrainResult(Path(config.out), config.run_folder(), run.steps, wall_s, parts, len(run.data.unreadable),
                       run.history)


