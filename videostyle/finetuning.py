"""Fine-tuning a model for temporal stability: ``finetune(FinetuneConfig(...))``.

Starts from any model (shipped name, a file trained here, or a pytorch/examples
``.pth``) and keeps its style with the same content/style/TV losses — read from the
model card beside the weights when there is one, otherwise the loss network's
defaults or the values given — while adding three temporal terms on frame pairs
(:mod:`videostyle.temporal`):

- output: masked ‖O₂ − warp(O₁)‖² (``temporal_weight``);
- features: the same on the encoder output, ReCoNet-style (``feature_weight``);
- noise: ‖T(I + n) − T(I)‖² for Gaussian n (``noise_weight``, ``noise_std``; Gupta et al.).

``compressed_share`` of the synthetic pairs have each frame JPEG-compressed on its own
(codec noise that changes between frames, as in real footage); ``gif_share`` of them have
each frame quantized to its own GIF palette with dithering (the dither of animated GIFs
changes between frames where nothing moves); ``drift_std`` adds a smooth brightness
change to frame 2 of each synthetic pair (lighting and exposure changes where nothing
moves).

Samples, checkpoints and exact resume work as in :mod:`videostyle.training`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .checkpoints import save_model
from .data import TrainingImages, list_images, split_holdout
from .devices import autocast, resolve_device
from .errors import ConfigError
from .models import read_card, resolve_model
from .temporal import (Motion, VideoPairs, compress_pairs, drift_pairs, feature_temporal_loss, gif_pairs,
                       noise_stability_loss, output_temporal_loss, synthetic_pairs)
from .training import (LOSS_DEFAULTS, LossOptions, Prefetcher, RunProgress, TrainResult, amp_dtype_for, build_perceptual_loss,
                       machine_card, prepare_network, total_steps)

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class FinetuneConfig(LossOptions):
    """Everything ``videostyle finetune`` needs. Loss settings left ``None`` come from the
    model card (see :func:`resolve_losses`)."""

    model: str
    data: str
    out: str
    videos: str | None = None
    style: str | None = None  # default: the style image named in the model card
    loss_net: str | None = None  # default: the model card's, else efficientnet-lite0
    antialias: bool | None = None
    style_size: int | None = None
    temporal_weight: float = 600.0
    feature_weight: float = 6.0
    noise_weight: float = 600.0
    noise_std: float = 0.03
    motion: Motion = Motion()
    compressed_share: float = 0.0
    gif_share: float = 0.0
    drift_std: float = 0.0
    contrast_ramp: float = 4.0  # recorded in the card; see videostyle.transformer_net
    real_pair_fraction: float = 0.5
    image_size: int = 256
    batch_size: int = 2
    iterations: int | None = 300
    epochs: float | None = None
    lr: float = 2e-4
    sample_every: int = 100
    checkpoint_every: int = 200
    run_dir: str | None = None
    resume: str | None = None
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    channels_last: bool = True
    holdout: int = 8
    val_images: tuple[str, ...] = ()

    @property
    def init_model(self) -> str:
        return self.model

    def run_folder(self) -> Path:
        return Path(self.run_dir) if self.run_dir else Path(self.out).parent / (Path(self.out).stem + "_run")

    def loss_settings(self) -> dict:
        return resolve_losses(self).loss_settings()


def model_card(spec: str) -> dict:
    return read_card(resolve_model(spec)[1])


def resolve_losses(config: FinetuneConfig) -> "_Resolved":
    """The loss settings to keep: given values, else the model card's, else defaults."""
    card = model_card(config.model)
    recorded = card.get("loss_network", {})
    loss_net = config.loss_net or recorded.get("name") or "efficientnet-lite0"
    defaults = dict(LOSS_DEFAULTS[loss_net])
    if recorded.get("name") == loss_net:
        defaults.update({k: recorded[k] for k in ("content_layer", "style_layers", "content_weight", "style_weight",
                                                   "tv_weight", "style_normalisation", "style_statistics")
                         if k in recorded})
    style = config.style or card.get("style", {}).get("path")
    if not style or not Path(style).is_file():
        raise ConfigError(f"the style image of {config.model} is not known here "
                          f"({style or 'the model has no card naming it'}); pass --style IMAGE")
    antialias = config.antialias if config.antialias is not None else recorded.get("antialias", True)
    style_size = config.style_size or card.get("style", {}).get("style_size") or 512
    return _Resolved(config, loss_net, defaults, style, bool(antialias if antialias is not None else True), style_size)


class _Resolved:
    """A TrainConfig-like view that :func:`build_perceptual_loss` accepts."""

    def __init__(self, config: FinetuneConfig, loss_net: str, defaults: dict, style: str, antialias: bool,
                 style_size: int):
        self.loss_net, self.style, self.antialias, self.style_size = loss_net, style, antialias, style_size
        self.vgg_weights, self.pretrained_loss_net = config.vgg_weights, config.pretrained_loss_net
        self.channels_last, self.jitter = config.channels_last, config.jitter
        self._settings = dict(defaults)
        for key in ("content_layer", "content_weight", "style_weight", "tv_weight", "style_normalisation",
                    "style_statistics"):
            if getattr(config, key) is not None:
                self._settings[key] = getattr(config, key)
        if config.style_layers is not None:
            self._settings["style_layers"] = dict(config.style_layers)

    def loss_settings(self) -> dict:
        return dict(self._settings)


def finetune(config: FinetuneConfig, progress: Callable[[int, int, dict], None] | None = None) -> TrainResult:
    device = resolve_device(config.device)
    amp_dtype = amp_dtype_for(config, device)
    losses = resolve_losses(config)
    criterion = build_perceptual_loss(losses, device)
    files, held_out = split_holdout(list_images(config.data), config.holdout)
    data = TrainingImages(files, config.image_size, config.seed)
    steps = total_steps(config, len(data), 1)
    real = VideoPairs(config.videos, config.image_size, config.seed) if config.videos else None
    model, optimizer, start, history = prepare_network(config, device, "finetune", steps)
    run_dir = config.run_folder()
    progress_log = RunProgress(config, "finetune", model, optimizer, held_out, device, amp_dtype, start, history, steps)
    prefetch = Prefetcher(lambda step: data.batch(step, config.batch_size))
    cl = torch.channels_last if config.channels_last else torch.contiguous_format
    t0 = time.perf_counter()
    parts: dict = {}
    model.train()
    for step in range(start, steps):
        rng = np.random.default_rng([config.seed, step, 3])
        photos = prefetch.get(step, prefetch=step + 1 < steps)
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
        inputs = torch.cat([first, second, noisy]).mul(255).contiguous(memory_format=cl)
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
        loss = (perceptual + config.temporal_weight * temporal + config.feature_weight * feature
                + config.noise_weight * noise_term)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        parts = {**{k: float(v) for k, v in parts.items()}, "perceptual": float(perceptual.detach()),
                 "temporal": float(temporal.detach()), "feature": float(feature.detach()),
                 "noise": float(noise_term.detach())}
        parts["total"] = float(loss.detach())
        done = step + 1
        progress_log.step(done, parts)
        if progress is not None:
            progress(done, steps, parts)
    wall_s = time.perf_counter() - t0
    settings = losses.loss_settings()
    progress_log.finish(["perceptual", "temporal", "feature", "noise"],
                        {"temporal": config.temporal_weight, "feature": config.feature_weight,
                         "noise": config.noise_weight})
    card = finetune_card(config, losses, settings, steps, wall_s, parts, device, len(data), len(data.unreadable),
                         model.architecture)
    save_model(Path(config.out), model, card)
    return TrainResult(Path(config.out), run_dir, steps, wall_s, parts, len(data.unreadable),
                       progress_log.runlog.history)


def finetune_card(config, losses, settings, steps, wall_s, final, device, n_train, n_bad,
                  architecture: dict | None = None) -> dict:
    base = model_card(config.model)
    card = {k: v for k, v in base.items()
            if k not in {"final_losses", "final_losses_note", "flicker", "sample", "evaluation", "held_out_losses"}}
    recorded = {k: v for k, v in {**base.get("architecture", {}), **(architecture or {})}.items()
                if not k.startswith("contrast_ramp")}
    card["architecture"] = {**recorded, **({"contrast_ramp": config.contrast_ramp} if config.contrast_ramp > 0 else {})}
    card["name"] = Path(config.out).stem
    card["title"] = f"{Path(config.out).stem} (temporally stable fine-tune of {Path(str(config.model)).stem})"
    card.setdefault("style", {}).update({"path": losses.style})
    card["loss_network"] = {"name": losses.loss_net, "antialias": losses.antialias, **settings,
                            "jitter_px": config.jitter}
    card["temporal"] = {"base_model": str(config.model), "temporal_weight": config.temporal_weight,
                        "feature_weight": config.feature_weight, "noise_weight": config.noise_weight,
                        "noise_std": config.noise_std, "motion": dataclasses.asdict(config.motion),
                        "compressed_share": config.compressed_share, "gif_share": config.gif_share,
                        "brightness_drift_std": config.drift_std,
                        "videos": config.videos, "real_pair_fraction": config.real_pair_fraction if config.videos else 0.0,
                        "steps": steps, "batch_size": config.batch_size, "image_size": config.image_size,
                        "lr": config.lr, "seed": config.seed, "training_images": n_train, "unreadable_images": n_bad,
                        "wall_time_s": round(wall_s, 1), **machine_card(device)}
    card["final_losses"] = {k: round(v, 6) for k, v in final.items()}
    card["final_losses_note"] = f"the last fine-tuning step ({steps}), one batch"
    return card
