"""The one training loop, and what train and finetune share around it.

:func:`optimise` is the loop itself (loss, backward, step, report), used by ``train``,
``finetune`` and ``optimize``. :class:`TrainingRun` is the rest that train and finetune
share: device and precision, the photos and their held-out split, the network (fresh,
from weights, or resumed exactly from a checkpoint), and :class:`RunProgress`, which
writes samples, held-out losses, checkpoints and curves while the steps run.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import threading
import time
from pathlib import Path
from typing import Callable

import torch

from ..errors import ConfigError, DeviceError
from ..media.atomic import check_writable_folder
from ..network.devices import autocast, describe_precision, half_dtype, native_half_dtype, resolve_device
from ..network.models import build_network, read_weights, resolve_model
from ..network.transformer_net import TransformerNet
from . import checkpoints
from .data import TrainingImages, list_images, load_square, split_holdout
from .evaluation import held_out_losses, load_photos
from .losses import PerceptualLoss
from .runlog import RunLog

log = logging.getLogger(__name__)

SAMPLE_PX = 256  # sample grids show at least this size, whatever the crop
StepLoss = Callable[[int], "tuple[torch.Tensor, dict]"]
Report = Callable[[int, dict], None]


def optimise(optimizer: torch.optim.Optimizer, start: int, steps: int, step_loss: StepLoss,
             report: Report | None = None, after_step: Callable[[], None] | None = None,
             lr_at: Callable[[int], float] | None = None) -> dict[str, float]:
    """Steps ``start`` .. ``steps - 1``: ``step_loss(step)`` gives (loss, parts), the loss
    is minimised one step, and ``report(done, parts)`` sees the parts as floats. Returns
    the last step's parts. ``lr_at(step)``, when given, sets every group's learning rate
    before each step (a resumed optimizer's saved rate is overwritten, not trusted)."""
    parts: dict[str, float] = {}
    for step in range(start, steps):
        if lr_at is not None:
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step)
        loss, raw = step_loss(step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if after_step is not None:
            after_step()
        parts = {k: float(v) for k, v in raw.items()}
        if report is not None:
            report(step + 1, parts)
    return parts


def resolve_amp(amp: bool | None, device: torch.device) -> torch.dtype | None:
    """The autocast dtype: ``None`` (auto) takes the device's native half precision and
    falls back to fp32 where there is none; ``True`` insists on it; ``False`` is fp32."""
    if amp is False:
        dtype = None
    elif amp is None:
        dtype = native_half_dtype(device)
    else:
        try:
            dtype = half_dtype(device)
        except DeviceError as error:
            raise ConfigError(f"{error.reason}; leave out --amp to train in fp32 here") from error
    log.info("training in %s", describe_precision(device, dtype))
    return dtype


def learning_rate(lr: float, decay_steps: int, steps: int, step: int) -> float:
    """The rate of step ``step`` (0-based) of ``steps``: ``lr``, falling linearly over the
    last ``decay_steps`` steps so that the last step takes ``lr / decay_steps``. A decay
    longer than the run covers the whole run from ``lr``: distill decays over 500 steps
    by default, and a 100-step run should not start at a fifth of its rate."""
    left = steps - step  # this step and those after it
    decay_steps = min(decay_steps, steps)
    if decay_steps <= 0 or left > decay_steps:
        return lr
    return lr * left / decay_steps


def total_steps(config, n_images: int, world: int) -> int:
    """``epochs`` when given (passes over the photos), else the config's step count."""
    if config.epochs is not None:
        return max(1, math.ceil(config.epochs * n_images / (config.batch_size * world)))
    return int(config.steps_asked())


def initial_network(init_model: str | None, channels: int, residual_blocks: int, seed: int,
                    end_kernel: int = 9) -> TransformerNet:
    torch.manual_seed(seed)
    if init_model:
        _, path = resolve_model(init_model)
        state, architecture, _ = read_weights(path)
        return build_network(state, architecture, path)
    return TransformerNet(channels, residual_blocks, end_kernel=end_kernel)


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


def sample_images(paths: list[str], size: int) -> torch.Tensor:
    """Up to 8 square images for the sample grids; unreadable ones are left out."""
    images = []
    for path in paths:
        try:
            images.append(load_square(path, size))
        except (OSError, ValueError) as error:
            log.warning("leaving unreadable validation image %s out of the samples (%s)", path, error)
    return torch.stack(images[:8]) if images else torch.zeros(0, 3, size, size)


class RunProgress:
    """What the writing process does around the steps: sample grids (at the start and
    every ``sample_every``), held-out losses every ``eval_every`` (``heldout/...`` columns),
    the loss log, checkpoints every ``checkpoint_every``, and the curves at the end."""

    def __init__(self, config, kind: str, model, optimizer, held_out: list[Path], device, amp_dtype,
                 start: int, history: list[dict], steps: int, sample_size: int):
        self.config, self.kind, self.model, self.optimizer, self.steps = config, kind, model, optimizer, steps
        self.device, self.amp_dtype = device, amp_dtype
        self.runlog = RunLog(config.run_folder(), history)
        self.val = sample_images([str(p) for p in held_out] + list(config.val_images), sample_size)
        self.eval_photos = load_photos(held_out, config.eval_size) if config.eval_every else []
        self.config_dict = dataclasses.asdict(config)
        # training seconds before a resume, so that curves against time continue
        self.elapsed_before = float(history[-1].get("elapsed_s", 0.0)) if history else 0.0
        self.t0 = time.perf_counter()
        if start == 0 and len(self.val):
            self.runlog.sample(0, self.val, self._stylize)
        self._initial = start == 0  # the held-out losses of the starting weights go in the first row

    def _stylize(self, images: torch.Tensor) -> torch.Tensor:
        was_training = self.model.training
        self.model.eval()
        with torch.no_grad(), autocast(self.device, self.amp_dtype):
            x = images.to(self.device) * 255
            if self.config.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            out = self.model(x).float().cpu() / 255
        self.model.train(was_training)
        return out.clamp(0, 1)

    def start(self, criterion: PerceptualLoss) -> None:
        """Before the first step of a run (not a resumed one): the starting weights' held-out losses."""
        if self.eval_photos and self._initial:
            self._initial = False
            losses = held_out_losses(self.model, criterion, self.eval_photos, self.device, self.amp_dtype)
            self.runlog.add(0, {f"heldout/{k}": v for k, v in losses.items()})

    def step(self, done: int, parts: dict, criterion: PerceptualLoss) -> None:
        every = self.config.eval_every
        if self.eval_photos and (done % every == 0 or done == self.steps):
            losses = held_out_losses(self.model, criterion, self.eval_photos, self.device, self.amp_dtype)
            parts = {**parts, **{f"heldout/{k}": v for k, v in losses.items()}}
        parts = {**parts, "elapsed_s": round(self.elapsed_before + time.perf_counter() - self.t0, 2)}
        self.runlog.add(done, parts)
        last = done == self.steps
        if len(self.val) and (done % self.config.sample_every == 0 or last):
            self.runlog.sample(done, self.val, self._stylize)
        if done % self.config.checkpoint_every == 0 or last:
            self.runlog.write_csv()
            checkpoints.save_checkpoint(self.config.run_folder() / "checkpoints" / f"step_{done:06d}.pt",
                                        kind=self.kind, config=self.config_dict, model=self.model,
                                        optimizer=self.optimizer, step=done, history=self.runlog.history)

    def wall_s(self) -> float:
        return time.perf_counter() - self.t0

    def finish(self, keys, weights) -> None:
        self.runlog.loss_curve(keys, weights)
        self.runlog.held_out_curve()
        self.runlog.close()


class TrainingRun:
    """Set-up shared by ``train`` and ``finetune``: device, precision, the photos, the
    number of steps, the network and optimizer (resumed exactly from ``config.resume``),
    and, in the writing process (rank 0), the run's progress files. Output and run folders
    are checked for writing before the first step, not after the last."""

    def __init__(self, config, kind: str, *, init_model: str | None, channels: int, residual_blocks: int,
                 crop_px: int, photo_px: tuple[int, int] | None, rank: int = 0, world: int = 1,
                 end_kernel: int = 9):
        self.config, self.kind, self.rank, self.world = config, kind, rank, world
        if rank == 0:
            check_writable_folder(Path(config.out).parent, "the output model")
            check_writable_folder(config.run_folder(), "the run's samples and checkpoints")
        device = resolve_device(config.device)
        if device.type == "cuda" and world > 1:
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        self.device = device
        self.amp_dtype = resolve_amp(config.amp, device)
        files, self.held_out = split_holdout(list_images(config.data), config.holdout)
        self.data = TrainingImages(files, crop_px, config.seed, photo_px)
        self.steps = total_steps(config, len(self.data), world)
        model = initial_network(init_model, channels, residual_blocks, config.seed, end_kernel).to(device)
        if config.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self.optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        self.start, history = 0, []
        if config.resume:
            state = checkpoints.load_checkpoint(config.resume, kind)
            model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            checkpoints.restore_rng(state)
            self.start, history = int(state["step"]), list(state["history"])
            if self.start > self.steps:
                raise ConfigError(f"checkpoint is at step {self.start}, beyond the {self.steps} steps asked for",
                                  config.resume)
        self.progress = RunProgress(config, kind, model, self.optimizer, self.held_out, device, self.amp_dtype,
                                    self.start, history, self.steps, max(crop_px, SAMPLE_PX)) if rank == 0 else None

    def channels(self, batch: torch.Tensor) -> torch.Tensor:
        """``batch`` in the memory layout the run computes in."""
        return batch.contiguous(memory_format=torch.channels_last) if self.config.channels_last else batch

    def loop(self, step_loss: StepLoss, criterion: PerceptualLoss,
             progress: Callable[[int, int, dict], None] | None = None,
             reduce: Callable[[dict], dict] | None = None) -> dict[str, float]:
        """Runs :func:`optimise` from the first step to the last, logging every step."""
        def report(done: int, parts: dict) -> None:
            if reduce is not None:
                parts.update(reduce(parts))
            if self.progress is not None:
                self.progress.step(done, parts, criterion)
            if progress is not None:
                progress(done, self.steps, parts)

        if self.progress is not None:
            # before the first step: Adam's first steps move every weight by about the
            # learning rate, which from trained weights reads as a large jump
            self.progress.start(criterion)
        self.model.train()
        decay = self.config.lr_decay_steps
        parts = optimise(self.optimizer, self.start, self.steps, step_loss, report,
                         lr_at=lambda step: learning_rate(self.config.lr, decay, self.steps, step))
        if not parts:  # resumed at its last step: the losses of that step, as logged
            trained = [row for row in self.history if "total" in row]
            parts = {k: v for k, v in trained[-1].items() if k != "step" and not k.startswith("heldout/")
                     and k != "elapsed_s"} if trained else {}
        return parts

    def training_seconds(self, fallback: float) -> float:
        """Seconds of training over every resume of this run (``fallback``: this process's)."""
        if self.progress is None:
            return fallback
        return self.progress.elapsed_before + self.progress.wall_s()

    @property
    def history(self) -> list[dict]:
        return self.progress.runlog.history if self.progress else []
