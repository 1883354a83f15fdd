"""Model registry and safe loading of TransformerNet weights.

A model is named (``mosaic``: a shipped ``models/mosaic.pth`` with its card
``models/mosaic.json``) or given as a path. Accepted files:

- a plain state dict, key-for-key as pytorch/examples ``fast_neural_style`` saves it;
  the legacy ``in*.running_mean`` / ``in*.running_var`` keys that old PyTorch versions
  wrote for InstanceNorm are dropped explicitly (they carried no trained values);
- a videostyle training checkpoint (``{"format": "videostyle-checkpoint", "model": ...}``),
  whose recorded architecture is used.

The contrast ramp (see :mod:`videostyle.transformer_net`) is not in the weights: it is
read from the model card beside them (``<stem>.json``, ``architecture.contrast_ramp``),
and is off for a file without one.

Everything is read with ``torch.load(weights_only=True)``: a pickle that carries code is
refused and nothing in it runs. The architecture of a plain state dict is read from
its shapes, so small networks (tests, experiments) load the same way.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import ModelError
from .transformer_net import TransformerNet

CHECKPOINT_FORMAT = "videostyle-checkpoint"
_LEGACY_KEY = re.compile(r"^(.*\.)?in\d+\.running_(mean|var)$|^(.*\.)?in\d+\.num_batches_tracked$")


def shipped_models_dir() -> Path | None:
    """Where the shipped weights live: the installed package data ``videostyle._models``,
    or ``models/`` beside the package in a source checkout."""
    try:
        import videostyle._models as package  # installed by setup.cfg's package_dir mapping
        return Path(list(package.__path__)[0])
    except ImportError:
        candidate = Path(__file__).resolve().parents[2] / "models"
        return candidate if candidate.is_dir() else None


@dataclass(frozen=True)
class ModelInfo:
    name: str
    path: Path
    card: dict


def read_card(path: Path) -> dict:
    """The model card beside the weights at ``path`` (``<stem>.json``); {} without one."""
    card_path = path.with_suffix(".json")
    if not card_path.is_file():
        return {}
    try:
        card = json.loads(card_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelError(f"its model card {card_path.name} cannot be read ({error}); fix or remove it", path) from error
    if not isinstance(card, dict):
        raise ModelError(f"its model card {card_path.name} is not a JSON object; fix or remove it", path)
    return card


def available_models() -> dict[str, ModelInfo]:
    """Shipped models by name, in alphabetical order."""
    folder = shipped_models_dir()
    if folder is None:
        return {}
    return {path.stem: ModelInfo(path.stem, path, read_card(path)) for path in sorted(folder.glob("*.pth"))}


def resolve_model(spec: str | os.PathLike) -> tuple[str, Path]:
    """(short name, weights path) for a shipped model name or a file path."""
    path = Path(spec)
    if path.is_file():
        return path.stem, path
    if path.is_dir():
        raise ModelError("is a folder; give a model file (.pth) or a shipped model's name", path)
    models = available_models()
    if str(spec) in models:
        return str(spec), models[str(spec)].path
    looks_like_path = path.suffix in {".pth", ".pt", ".ckpt"} or os.sep in str(spec) or "/" in str(spec)
    if looks_like_path:
        raise ModelError("model file not found", spec)
    names = ", ".join(models) or "(none installed)"
    raise ModelError(f"unknown model {str(spec)!r}; shipped models: {names}; "
                     "or give the path of a .pth file")


def _read(path: Path) -> object:
    if path.is_dir():
        raise ModelError("is a folder, not a model file", path)
    if path.stat().st_size == 0:
        raise ModelError("empty file, not a model", path)
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols on stderr
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        found = re.search(r"GLOBAL ([\w.]+)", str(error))
        if found:
            raise ModelError(
                f"refusing to load: the file would call {found.group(1)} when unpickled (it carries "
                "code, not just weights); nothing was run", path) from error
        with open(path, "rb") as fh:
            head = fh.read(2)
        if head[:1] != b"\x80" and head != b"PK":  # neither a pickle nor torch's zip format
            raise ModelError("not a PyTorch weights file", path) from error
        detail = [line for line in str(error).splitlines() if line.strip()][-2].strip()
        raise ModelError(f"refusing to load: weights-only unpickling rejected this file ({detail}); "
                         "nothing in it was run", path) from error
    except Exception as error:
        with open(path, "rb") as fh:
            zipped = fh.read(2) == b"PK"
        if zipped:  # torch's zip format, cut short or damaged: torch's own message says little
            raise ModelError("damaged or incomplete PyTorch weights file (truncated download?); "
                             "download or copy it again", path) from error
        raise ModelError(f"not a PyTorch weights file ({type(error).__name__}: {error})", path) from error


def clean_state_dict(state: dict) -> dict:
    """Drop legacy InstanceNorm running-stat keys and a DistributedDataParallel
    ``module.`` prefix; everything else is kept for strict loading."""
    if state and all(isinstance(k, str) and k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return {k: v for k, v in state.items() if not _LEGACY_KEY.match(k)}


def architecture_of(state: dict, path: Path | None = None) -> dict[str, int]:
    """TransformerNet constructor arguments read from a state dict's shapes."""
    weight = state.get("conv1.conv2d.weight")
    if not isinstance(weight, torch.Tensor) or weight.dim() != 4:
        raise ModelError("not TransformerNet weights: no conv1.conv2d.weight tensor", path)
    blocks = {int(m.group(1)) for k in state if (m := re.match(r"res(\d+)\.", k))}
    architecture = {"channels": int(weight.shape[0]), "residual_blocks": len(blocks)}
    if weight.shape[-1] != 9:  # the paper's 9x9 is implied, so pytorch/examples weights read as before
        architecture["end_kernel"] = int(weight.shape[-1])
    return architecture


def read_weights(path: str | os.PathLike) -> tuple[dict, dict[str, int], dict]:
    """(state dict, architecture, metadata) from a weights file (not yet loaded into a net)."""
    path = Path(path)
    if not path.exists():
        raise ModelError("model file not found", path)
    obj = _read(path)
    if not isinstance(obj, dict):
        raise ModelError(f"expected a state dict of TransformerNet weights, found {type(obj).__name__}", path)
    metadata: dict = {}
    if obj.get("format") == CHECKPOINT_FORMAT:
        metadata = {k: v for k, v in obj.items() if k not in {"model", "optimizer", "rng"}}
        obj = obj.get("model")
        if not isinstance(obj, dict):
            raise ModelError("checkpoint has no model weights", path)
    non_tensors = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if non_tensors:
        raise ModelError(f"not a state dict: {non_tensors[0]!r} is not a tensor", path)
    state = clean_state_dict(obj)
    return state, architecture_of(state, path), metadata


def build_network(state: dict, architecture: dict[str, int], path: Path | None = None) -> TransformerNet:
    """A TransformerNet holding ``state``; shape or key mismatches become a ModelError."""
    net = TransformerNet(**architecture)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as error:
        lines = [line.strip() for line in str(error).splitlines()[1:] if line.strip()]
        detail = "; ".join(lines[:3]) + ("; ..." if len(lines) > 3 else "")
        raise ModelError(f"weights do not fit the TransformerNet architecture: {detail}", path) from error
    return net


def recorded_contrast_ramp(path: Path) -> float:
    """The contrast ramp the model card beside ``path`` records; 0 without a card or entry."""
    architecture = read_card(path).get("architecture")
    ramp = architecture.get("contrast_ramp", 0.0) if isinstance(architecture, dict) else 0.0
    if isinstance(ramp, bool) or not isinstance(ramp, (int, float)) or not 0 <= ramp < float("inf"):
        raise ModelError(f"its model card {path.with_suffix('.json').name} records contrast_ramp {ramp!r}; "
                         "it must be a number of grey levels, 0 or more", path)
    return float(ramp)


def load_model(spec: str | os.PathLike, device: str | torch.device = "cpu",
               contrast_ramp: float | None = None) -> TransformerNet:
    """A ready-to-run network (eval mode, no grad) from a shipped name or a path, with the
    contrast ramp its card records unless ``contrast_ramp`` is given (0 turns it off)."""
    _, path = resolve_model(spec)
    state, architecture, _ = read_weights(path)
    net = build_network(state, architecture, path)
    net.contrast_ramp = recorded_contrast_ramp(path) if contrast_ramp is None else float(contrast_ramp)
    return net.to(device).eval().requires_grad_(False)


def fast_variant(spec: str | os.PathLike) -> str | None:
    """The shipped distilled ``-fast`` model of a shipped style or its ``-stable`` twin
    (for the long-wait line), or None."""
    name = str(spec)
    models = available_models()
    if name not in models or name.endswith("-fast"):
        return None
    fast = name.removesuffix("-stable") + "-fast"
    return fast if fast in models else None


def stable_twin(spec: str | os.PathLike) -> tuple[Path, Path]:
    """(base weights, stable weights) of a model that has a ``-stable`` twin: a shipped
    name (``mosaic`` or ``mosaic-stable``) or a path whose twin lies beside it."""
    name, path = resolve_model(spec)
    base_name = name.removesuffix("-stable")
    base_path = path.with_name(base_name + path.suffix)
    stable_path = path.with_name(base_name + "-stable" + path.suffix)
    if not (base_path.is_file() and stable_path.is_file()):
        raise ModelError(f"--stability needs a -stable twin: {base_path.name} and {stable_path.name} side by side",
                         path)
    return base_path, stable_path


def load_blend(spec: str | os.PathLike, stability: float, device: str | torch.device = "cpu",
               contrast_ramp: float | None = None) -> TransformerNet:
    """The weights ``(1 - stability) * base + stability * stable`` of a model and its
    ``-stable`` twin: both start from the same weights (the twin is fine-tuned from the
    base), so the points between them are networks too, trading style for steadiness.
    The contrast ramp is the stable card's once ``stability`` is above 0."""
    if not 0 <= stability <= 1:
        raise ModelError(f"stability must be between 0 and 1, got {stability}")
    base_path, stable_path = stable_twin(spec)
    (base, arch_a, _), (stable, arch_b, _) = read_weights(base_path), read_weights(stable_path)
    if arch_a != arch_b or base.keys() != stable.keys():
        raise ModelError(f"{stable_path.name} is not a fine-tune of {base_path.name}: their layers differ", stable_path)
    mixed = {k: torch.lerp(base[k].float(), stable[k].float(), stability) for k in base}
    net = build_network(mixed, arch_a, base_path)
    ramp_source = stable_path if stability > 0 else base_path
    net.contrast_ramp = recorded_contrast_ramp(ramp_source) if contrast_ramp is None else float(contrast_ramp)
    return net.to(device).eval().requires_grad_(False)
