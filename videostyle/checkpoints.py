"""Training checkpoints that describe themselves, and final model files with their cards.

A checkpoint is one ``torch.save`` dict: ``format``, ``version``, ``kind`` (train or
finetune), ``config`` (the full frozen config as a dict), ``architecture``, ``model``,
``optimizer``, ``step``, ``rng`` (torch CPU/CUDA states), and ``history`` (the logged
loss rows so far). It holds only tensors and plain containers, so it loads with
``weights_only=True``. A finished model is written as a plain state dict (loadable by
pytorch/examples) with a JSON card and a Markdown card beside it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from .errors import ConfigError
from .models import CHECKPOINT_FORMAT
from .outputs import atomic_output

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


def write_card(path: Path, card: dict) -> None:
    with atomic_output(path.with_suffix(".json")) as tmp:
        tmp.write_text(json.dumps(card, indent=2, sort_keys=False) + "\n")
    with atomic_output(path.with_suffix(".md")) as tmp:
        tmp.write_text(render_card(card))


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_format(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_format(v) for v in value)
    return str(value)


def _field(name: str, value: Any) -> list[str]:
    """One bullet; a list of mappings (for example a fine-tune's earlier stages) gets a
    numbered line per item under it."""
    label = f"- **{name.replace('_', ' ')}**:"
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, dict) for v in value):
        return [label] + [f"  {i}. {_format(v)}" for i, v in enumerate(value, 1)]
    return [f"{label} {_format(value)}"]


def _link(path: str) -> str:
    """Card paths are relative to the repository; the Markdown card sits in ``models/``."""
    return path if "://" in path or path.startswith("/") else f"../{path}"


def render_card(card: dict) -> str:
    """Markdown model card from the JSON card: a title, a description, the sample images
    (``sample``: one path, or a mapping of label to path), then every field."""
    lines = [f"# {card.get('title', card.get('name', 'model'))}", ""]
    if card.get("description"):
        lines += [card["description"], ""]
    samples = card.get("sample") or {}
    for label, path in (samples.items() if isinstance(samples, dict) else [("sample", samples)]):
        lines += [f"![{label.replace('_', ' ')}]({_link(str(path))})", ""]
    for section, fields in card.items():
        if section in {"title", "description", "sample", "name"}:
            continue
        if isinstance(fields, dict):
            lines += [f"## {section.replace('_', ' ').capitalize()}", ""]
            for k, v in fields.items():
                lines += _field(k, v)
            lines.append("")
        else:
            lines += _field(section, fields) + [""]
    return "\n".join(lines).rstrip() + "\n"
