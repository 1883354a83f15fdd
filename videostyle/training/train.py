"""Training a style: ``train(TrainConfig(...))``.

Adam on a :class:`~videostyle.network.transformer_net.TransformerNet` against a fixed
loss network (:mod:`.loss_networks`), with content, style and TV losses
(:class:`.losses.PerceptualLoss`) on random crops of photos. The style statistics are
computed once; the networks run under autocast where the device has a native half
precision, on ``channels_last`` tensors. Batches depend only on ``(seed, step)``, so
``resume`` continues an interrupted run exactly. Under ``torchrun`` each process trains
on its own shard with DistributedDataParallel; only rank 0 writes files. With
``temporal_weight``, half of each batch is the second frame of a synthetic camera-motion
pair and the output's change along the motion is penalised (as in :mod:`.finetune`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.distributed as dist

from ..config import Motion, TrainConfig
from ..errors import ConfigError
from ..network.devices import autocast
from ..temporal.losses import output_temporal_loss
from ..temporal.motion import synthetic_pairs
from . import checkpoints
from .cards import training_card
from .criterion import build_perceptual_loss
from .loop import Prefetcher, TrainingRun

CAMERA = Motion()  # the pairs of ``temporal_weight``: camera motion (shift, zoom, rotation, elastic), no objects


@dataclass
class TrainResult:
    """Where a run wrote its model and files; ``history`` is its log, a row per step (the
    first row, step 0, holds only the held-out losses of the starting weights)."""

    model_path: Path
    run_dir: Path
    steps: int
    wall_s: float
    final_losses: dict[str, float]
    unreadable_images: int
    history: list[dict] = field(default_factory=list)


def _distributed() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def train(config: TrainConfig, progress: Callable[[int, int, dict], None] | None = None) -> TrainResult:
    """Train a style network; returns where the model and run files were written."""
    owns_group = int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized()
    rank, world = _distributed()
    try:
        return _train(config, progress, rank, world)
    finally:
        if owns_group and dist.is_initialized():
            # left to the interpreter's exit, gloo's threads can abort a torchrun worker
            dist.destroy_process_group()


def _train(config: TrainConfig, progress, rank: int, world: int) -> TrainResult:
    run = TrainingRun(config, "train", init_model=config.init_model, channels=config.channels,
                      residual_blocks=config.residual_blocks, crop_px=config.crop_px(), photo_px=config.photo_px(),
                      rank=rank, world=world)
    device, amp_dtype = run.device, run.amp_dtype
    criterion = build_perceptual_loss(config, config.style, device, config.channels_last)
    net = torch.nn.parallel.DistributedDataParallel(run.model) if world > 1 else run.model
    temporal_weight = config.temporal()
    pairs = temporal_weight > 0
    if pairs and config.batch_size < 2:
        raise ConfigError(f"the temporal term (weight {temporal_weight:g}) needs a batch of at least 2, each photo "
                          "giving a pair of frames; raise --batch-size or pass --temporal-weight 0")
    photos = config.batch_size // 2 if pairs else config.batch_size  # with pairs, each photo gives two frames
    prefetch = Prefetcher(lambda step: run.data.batch(step, photos, rank, world))

    def step_loss(step: int):
        batch = prefetch.get(step, prefetch=step + 1 < run.steps).to(device, non_blocking=True)
        jitter = np.random.default_rng([config.seed, step, 2]).integers(0, config.jitter + 1, size=2)
        if pairs:
            first, second, flow, mask = synthetic_pairs(batch, CAMERA, np.random.default_rng([config.seed, step, 3]))
            batch = torch.cat([first, second])
        batch = run.channels(batch)
        with autocast(device, amp_dtype):
            output = net(batch * 255) / 255
            total, parts = criterion(output, batch, (int(jitter[0]), int(jitter[1])))
        if not pairs:
            return total, parts
        temporal = output_temporal_loss(output[:photos], output[photos:], flow, mask)
        total = total + temporal_weight * temporal
        return total, {**parts, "temporal": temporal.detach(), "total": total.detach()}

    def reduce(parts: dict) -> dict:
        if world == 1:
            return parts
        values = torch.tensor(list(parts.values()), device=device)
        dist.all_reduce(values)
        return dict(zip(parts, (values / world).tolist()))

    t0 = time.perf_counter()
    parts = run.loop(step_loss, criterion, progress, reduce)
    wall_s = run.training_seconds(time.perf_counter() - t0)
    model_path = Path(config.out)
    if rank == 0:
        settings = config.loss_settings()
        terms = ["content", "style", "tv"] + (["temporal"] if pairs else [])
        weights = {**{k: settings[f"{k}_weight"] for k in ("content", "style", "tv")}, "temporal": temporal_weight}
        run.progress.finish(terms, weights)
        card = training_card(config, settings, run.steps, world, wall_s, parts, device, amp_dtype, len(run.data),
                             len(run.data.unreadable), run.held_out)
        checkpoints.save_model(model_path, run.model, card)
    if world > 1:
        dist.barrier()
    return TrainResult(model_path, config.run_folder(), run.steps, wall_s, parts, len(run.data.unreadable),
                       run.history)
