"""Training a style: ``train(TrainConfig(...))``.

Adam on a :class:`TransformerNet` against a fixed loss network (see
:mod:`videostyle.loss_networks`), with content, Gram style and TV losses
(:class:`videostyle.losses.PerceptualLoss`). The style Grams are computed once; the
loss network runs under autocast (bf16 on CPUs that have it, fp16/bf16 on CUDA) on
``channels_last`` tensors. Batches depend only on ``(seed, step)``, so ``resume``
continues an interrupted run exactly. Under ``torchrun`` each process trains on its
own shard with DistributedDataParallel; only rank 0 writes files.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import platform
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image
import torch.distributed as dist

from . import checkpoints
from .data import TrainingImages, list_images, load_rgb, load_square, split_holdout, to_tensor
from .devices import autocast, describe_machine, half_dtype, resolve_device
from .errors import ConfigError
from .loss_networks import build_loss_network
from .losses import PerceptualLoss
from .models import build_network, read_weights, resolve_model
from .runlog import RunLog
from .transformer_net import TransformerNet

log = logging.getLogger(__name__)

# Loss settings per loss network. VGG16's are pytorch/examples' (their Gram / MSE
# convention). EfficientNet-Lite0's were chosen on this project's sample grids and
# per-image optimisations (README, "The offline loss network"): post-ReLU6 expanded
# activations down to block 8 (1/16 scale) for the tile- and stroke-sized structure,
# the scaled RGB input for colour, covariance statistics (no black blobs, colour spread
# counts), content on block 3's pre-activation expansion.
LOSS_DEFAULTS: dict[str, dict] = {
    "vgg16": {
        "content_layer": "relu2_2",
        "style_layers": {"relu1_2": 1.0, "relu2_2": 1.0, "relu3_3": 1.0, "relu4_3": 1.0},
        "content_weight": 1e5, "style_weight": 1e10, "tv_weight": 0.0,
        "style_normalisation": "examples", "style_statistics": "gram",
    },
    "efficientnet-lite0": {
        "content_layer": "b3_expand_pre",
        "style_layers": {"rgb": 1.0, "stem": 1.0, "b1_expand": 1.0, "b3_expand": 1.0, "b5_expand": 1.0,
                         "b8_expand": 1.0},
        "content_weight": 10.0, "style_weight": 5.0, "tv_weight": 0.02,
        "style_normalisation": "relative", "style_statistics": "covariance",
    },
}


@dataclass(frozen=True, kw_only=True)
class LossOptions:
    """The loss network and the loss settings shared by training, fine-tuning and
    optimisation; a ``None`` setting takes the loss network's default (LOSS_DEFAULTS)."""

    loss_net: str = "vgg16"
    vgg_weights: str | None = None
    pretrained_loss_net: bool = True  # False: random loss network (tests only)
    antialias: bool = True  # efficientnet-lite0: blur before every stride-2 subsampling
    style_size: int | None = 512  # long side of the style image; None keeps its size
    content_layer: str | None = None
    style_layers: tuple[tuple[str, float], ...] | None = None
    content_weight: float | None = None
    style_weight: float | None = None
    tv_weight: float | None = None
    style_normalisation: str | None = None
    style_statistics: str | None = None
    jitter: int = 3

    def loss_settings(self) -> dict:
        """This run's loss layers and weights: the network's defaults where not given."""
        if self.loss_net not in LOSS_DEFAULTS:
            raise ConfigError(f"unknown loss network {self.loss_net!r}; choose one of {', '.join(LOSS_DEFAULTS)}")
        settings = dict(LOSS_DEFAULTS[self.loss_net])
        for key in ("content_layer", "content_weight", "style_weight", "tv_weight", "style_normalisation",
                    "style_statistics"):
            if getattr(self, key) is not None:
                settings[key] = getattr(self, key)
        if self.style_layers is not None:
            settings["style_layers"] = dict(self.style_layers)
        return settings


@dataclass(frozen=True, kw_only=True)
class TrainConfig(LossOptions):
    """Everything ``videostyle train`` needs; see ``videostyle train --help``."""

    style: str
    data: str
    out: str
    image_size: int = 256
    batch_size: int = 4
    iterations: int | None = None
    epochs: float | None = None
    lr: float = 1e-3
    sample_every: int = 100
    checkpoint_every: int = 500
    run_dir: str | None = None
    resume: str | None = None
    init_model: str | None = None  # start from these weights instead of random ones
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    channels_last: bool = True
    channels: int = 32
    residual_blocks: int = 5
    holdout: int = 8
    val_images: tuple[str, ...] = ()
    style_licence: str | None = None

    def run_folder(self) -> Path:
        return Path(self.run_dir) if self.run_dir else Path(self.out).with_suffix("").parent / (Path(self.out).stem + "_run")


@dataclass
class TrainResult:
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


def load_style_image(path: str, style_size: int | None) -> torch.Tensor:
    """(1, 3, H, W) in [0, 1], long side resized to ``style_size``."""
    try:
        image = load_rgb(path)
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read the style image ({error})", path) from error
    if style_size:
        scale = style_size / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             resample=Image.Resampling.LANCZOS)
    return to_tensor(image)[None]


def build_perceptual_loss(config, device: torch.device) -> PerceptualLoss:
    settings = config.loss_settings()
    loss_net = build_loss_network(config.loss_net, weights=config.vgg_weights if config.loss_net == "vgg16" else None,
                                  pretrained=config.pretrained_loss_net, antialias=config.antialias)
    loss_net = loss_net.to(device)
    if config.channels_last:
        loss_net = loss_net.to(memory_format=torch.channels_last)
    style = load_style_image(config.style, config.style_size).to(device)
    return PerceptualLoss(loss_net, style, settings["content_layer"], settings["style_layers"],
                          settings["content_weight"], settings["style_weight"], settings["tv_weight"],
                          settings["style_normalisation"], jitter=config.jitter,
                          statistics=settings.get("style_statistics", "gram")).to(device)


def initial_network(config) -> TransformerNet:
    torch.manual_seed(config.seed)
    if config.init_model:
        _, path = resolve_model(config.init_model)
        state, architecture, _ = read_weights(path)
        return build_network(state, architecture, path)
    return TransformerNet(config.channels, config.residual_blocks)


def total_steps(config, n_images: int, world: int) -> int:
    if (config.iterations is None) == (config.epochs is None):
        raise ConfigError("give exactly one of --iterations and --epochs")
    if config.iterations is not None:
        return int(config.iterations)
    return max(1, math.ceil(config.epochs * n_images / (config.batch_size * world)))


def validation_images(config, held_out: list[Path]) -> torch.Tensor:
    images = []
    for path in [str(p) for p in held_out] + list(config.val_images):
        try:
            images.append(load_square(path, config.image_size))
        except (OSError, ValueError) as error:
            log.warning("leaving unreadable validation image %s out of the samples (%s)", path, error)
    if not images:
        return torch.zeros(0, 3, config.image_size, config.image_size)
    return torch.stack(images[:8])


class Prefetcher:
    """Loads the next step's batch in a thread while this step computes."""

    def __init__(self, load: Callable[[int], torch.Tensor]):
        self._load = load
        self._next: tuple[int, threading.Thread, list] | None = None

    def _start(self, step: int) -> None:
        box: list = []
        thread = threading.Thread(target=lambda: box.append(self._try(step)), daemon=True)
        thread.start()
        self._next = (step, thread, box)

    def _try(self, step: int):
        try:
            return self._load(step)
        except BaseException as error:  # re-raised in the training thread
            return error

    def get(self, step: int, prefetch: bool) -> torch.Tensor:
        if self._next is None or self._next[0] != step:
            self._start(step)
        _, thread, box = self._next
        thread.join()
        if prefetch:
            self._start(step + 1)
        result = box[0]
        if isinstance(result, BaseException):
            raise result
        return result


def _stylize_fn(model: torch.nn.Module, device: torch.device, amp_dtype, channels_last: bool):
    def run(images: torch.Tensor) -> torch.Tensor:
        was_training = model.training
        model.eval()
        with torch.no_grad(), autocast(device, amp_dtype):
            x = images.to(device) * 255
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            out = model(x).float().cpu() / 255
        model.train(was_training)
        return out.clamp(0, 1)
    return run


def prepare_network(config, device: torch.device, kind: str, steps: int):
    """(network, Adam optimizer, first step, logged history): fresh, from ``init_model``,
    or restored from ``config.resume`` (a checkpoint of the same ``kind``)."""
    model = initial_network(config).to(device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    start, history = 0, []
    if config.resume:
        state = checkpoints.load_checkpoint(config.resume, kind)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        checkpoints.restore_rng(state)
        start, history = int(state["step"]), list(state["history"])
        if start > steps:
            raise ConfigError(f"checkpoint is at step {start}, beyond the {steps} steps asked for", config.resume)
    return model, optimizer, start, history


class RunProgress:
    """What the writing process does around the steps: sample grids (at the start and
    every ``sample_every``), the loss log, checkpoints every ``checkpoint_every``, and the
    loss curve at the end."""

    def __init__(self, config, kind: str, model, optimizer, held_out, device, amp_dtype, start: int,
                 history: list[dict], steps: int):
        self.config, self.kind, self.model, self.optimizer, self.steps = config, kind, model, optimizer, steps
        self.runlog = RunLog(config.run_folder(), history)
        self.val = validation_images(config, held_out)
        self.stylize = _stylize_fn(model, device, amp_dtype, config.channels_last)
        self.config_dict = dataclasses.asdict(config)
        if start == 0 and len(self.val):
            self.runlog.sample(0, self.val, self.stylize)

    def step(self, done: int, parts: dict) -> None:
        self.runlog.add(done, parts)
        last = done == self.steps
        if len(self.val) and (done % self.config.sample_every == 0 or last):
            self.runlog.sample(done, self.val, self.stylize)
        if done % self.config.checkpoint_every == 0 or last:
            self.runlog.write_csv()
            checkpoints.save_checkpoint(self.config.run_folder() / "checkpoints" / f"step_{done:06d}.pt",
                                        kind=self.kind, config=self.config_dict, model=self.model,
                                        optimizer=self.optimizer, step=done, history=self.runlog.history)

    def finish(self, keys, weights) -> None:
        self.runlog.loss_curve(keys, weights)
        self.runlog.close()


def amp_dtype_for(config, device: torch.device):
    if not config.amp:
        return None
    try:
        return half_dtype(device)
    except Exception as error:
        raise ConfigError(f"{error} (or pass --no-amp to train in fp32)") from error


def machine_card(device: torch.device) -> dict:
    return {"machine": describe_machine(device), "python": platform.python_version()}


def train(config: TrainConfig, progress: Callable[[int, int, dict], None] | None = None) -> TrainResult:
    """Train a style network; returns where the model and run files were written."""
    owns_group = int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized()
    rank, world = _distributed()
    try:
        return _train(config, progress, rank, world)
    finally:
        if owns_group and dist.is_initialized():
            # a process group left to the interpreter's exit aborted a torchrun worker now and
            # then ("terminate called without an active exception": gloo's threads)
            dist.destroy_process_group()


def _train(config: TrainConfig, progress: Callable[[int, int, dict], None] | None, rank: int,
           world: int) -> TrainResult:
    device = resolve_device(config.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    amp_dtype = amp_dtype_for(config, device)
    files = list_images(config.data)
    train_files, held_out = split_holdout(files, config.holdout)
    data = TrainingImages(train_files, config.image_size, config.seed)
    steps = total_steps(config, len(data), world)
    criterion = build_perceptual_loss(config, device)

    model, optimizer, start, history = prepare_network(config, device, "train", steps)
    net = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model

    run_dir = config.run_folder()
    progress_log = RunProgress(config, "train", model, optimizer, held_out, device, amp_dtype, start, history,
                               steps) if rank == 0 else None

    def load(step: int) -> torch.Tensor:
        return data.batch(step, config.batch_size, rank, world)

    prefetch = Prefetcher(load)
    t0 = time.perf_counter()
    parts: dict = {}
    model.train()
    for step in range(start, steps):
        batch = prefetch.get(step, prefetch=step + 1 < steps).to(device, non_blocking=True)
        if config.channels_last:
            batch = batch.contiguous(memory_format=torch.channels_last)
        jitter = np.random.default_rng([config.seed, step, 2]).integers(0, config.jitter + 1, size=2)
        with autocast(device, amp_dtype):
            output = net(batch * 255) / 255
            loss, parts = criterion(output, batch, (int(jitter[0]), int(jitter[1])))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        parts = {k: float(v) for k, v in parts.items()}
        if world > 1:
            values = torch.tensor(list(parts.values()), device=device)
            dist.all_reduce(values)
            parts = dict(zip(parts, (values / world).tolist()))
        done = step + 1
        if progress_log is not None:
            progress_log.step(done, parts)
        if progress is not None:
            progress(done, steps, parts)
    wall_s = time.perf_counter() - t0

    model_path = Path(config.out)
    if rank == 0:
        settings = config.loss_settings()
        progress_log.finish(["content", "style", "tv"], {"content": settings["content_weight"],
                                                         "style": settings["style_weight"],
                                                         "tv": settings["tv_weight"]})
        card = training_card(config, settings, steps, world, wall_s, parts, device, len(data),
                             len(data.unreadable), held_out)
        checkpoints.save_model(model_path, model, card)
    if world > 1:
        dist.barrier()
    return TrainResult(model_path, run_dir, steps, wall_s, parts, len(data.unreadable),
                       progress_log.runlog.history if progress_log else [])


def training_card(config, settings, steps, world, wall_s, final, device, n_train, n_bad, held_out) -> dict:
    return {
        "name": Path(config.out).stem,
        "title": f"{Path(config.out).stem} (videostyle TransformerNet)",
        "style": {"image": Path(config.style).name, "path": str(config.style),
                  "licence": config.style_licence or "not recorded", "style_size": config.style_size},
        "loss_network": {"name": config.loss_net, "antialias": config.antialias if config.loss_net != "vgg16" else None,
                         "content_layer": settings["content_layer"],
                         "style_layers": settings["style_layers"],
                         "content_weight": settings["content_weight"], "style_weight": settings["style_weight"],
                         "tv_weight": settings["tv_weight"],
                         "style_normalisation": settings["style_normalisation"],
                         "style_statistics": settings.get("style_statistics", "gram"), "jitter_px": config.jitter},
        "training": {"data": str(config.data), "training_images": n_train, "unreadable_images": n_bad,
                     "held_out": [p.name for p in held_out], "steps": steps, "batch_size": config.batch_size,
                     "processes": world, "image_size": config.image_size, "lr": config.lr, "seed": config.seed,
                     "amp": config.amp, "wall_time_s": round(wall_s, 1), **machine_card(device)},
        "architecture": {"channels": config.channels, "residual_blocks": config.residual_blocks},
        "final_losses": {k: round(v, 6) for k, v in final.items()},
    }
