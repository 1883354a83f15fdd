"""Training checkpoints that describe themselves, and final model files.

A checkpoint is one ``torch.save`` dict: ``format``, ``version``, ``kind`` (train or
finetune), ``config`` (the full frozen config as a dict), ``architecture``, ``model``,
``optimizer``, ``step``, ``rng`` (torch CPU/CUDA states), and ``history`` (the logged
loss rows so far). It holds only tensors and plain containers, so it loads with
``weights_only=True``. A finished model is written as a plain state dict (loadable by
pytorch/examples) with a JSON card and a Markdown card beside it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ..errors import ConfigError
from ..media.atomic import atomic_output
from ..network.models import CHECKPOINT_FORMAT
from .cards import write_card

VERSION = 1


def save_checkpoint(path: Path, *, kind: str, config: dict, model: torch.nn.Module,
                    optimizer: torch.optim.Optimizer, step: int, history: list[dict]) -> None:
    state = {
        "format": CHECKPOINT_FORMAT, "version": VERSION, "kind": kind, "config": config,
        "architecture": model.architecture, "model": model.state_dict(),
        "optimizer": optimizer.state_dict(), "step": step,
        "rng": {"torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []},
        "history": history,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | os.PathLike, kind: str) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError("checkpoint to resume from not found", path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ConfigError(f"cannot read checkpoint ({type(error).__name__}: {error})", path) from error
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ConfigError("not a videostyle training checkpoint", path)
    if state.get("kind") != kind:
        raise ConfigError(f"this is a {state.get('kind')} checkpoint; resume it with "
                          f"videostyle {state.get('kind')}", path)
    return state


def restore_rng(state: dict) -> None:
    torch.set_rng_state(state["rng"]["torch"])
    if torch.cuda.is_available() and state["rng"]["cuda"]:
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])


def save_model(path: Path, model: torch.nn.Module, card: dict) -> None:
    """Plain state dict at ``path``; ``<stem>.json`` and ``<stem>.md`` cards beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_output(path) as tmp:
        torch.save(state, tmp)
    write_card(path, card)
