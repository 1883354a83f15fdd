"""Model cards: the JSON record beside every trained model (what it learned from, with
which losses, on which machine, how long) and its Markdown rendering."""

from __future__ import annotations

import dataclasses
import json
import platform
import shlex
from pathlib import Path
from typing import Any

import torch

from ..media.atomic import atomic_output
from ..network.devices import describe_machine


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


# fields that are not options of the command, or whose option is not --field-name
_NOT_OPTIONS = {"pretrained_loss_net", "channels_last", "run_dir", "resume", "val_images", "style", "data", "out",
                "model", "content"}
_OPTION_NAMES = {"style_layers": "--style-layer-weights", "compressed_share": "--compressed-pairs",
                 "gif_share": "--gif-pairs", "drift_std": "--brightness-drift"}


def _option(name: str, value) -> list[str]:
    if name == "antialias":
        return [] if value in (True, None) else ["--no-antialias"]
    if name == "amp":
        return [] if value is None else ["--amp" if value else "--no-amp"]
    if name == "motion":
        default = type(value)()
        parts = []
        if value.object_probability != default.object_probability:
            parts += ["--moving-objects", f"{value.object_probability:g}"]
        if tuple(value.object_radius) != tuple(default.object_radius):
            parts += ["--object-radius", ",".join(f"{r:g}" for r in value.object_radius)]
        return parts
    option = _OPTION_NAMES.get(name, "--" + name.replace("_", "-"))
    if isinstance(value, bool):
        return [option] if value else []
    if name == "style_layers":
        value = ",".join(f"{layer}={weight:g}" for layer, weight in value)
    elif isinstance(value, (tuple, list)):
        value = ",".join(str(v) for v in value)
    elif isinstance(value, float):
        value = f"{value:g}"
    return [option, str(value)]


def command_line(command: str, config) -> str:
    """The ``videostyle`` command that makes ``config`` again: the required arguments and
    every option whose value differs from its default."""
    required = {"train": ("style", "data", "out"), "finetune": ("model", "data", "out"),
                "distill": ("teacher", "data", "out")}[command]
    words = ["videostyle", command]
    for name in required:
        words += [f"--{name}", str(getattr(config, name))]
    for field in dataclasses.fields(config):
        if field.name in _NOT_OPTIONS or field.name in required:
            continue
        value = getattr(config, field.name)
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
        if value != default:
            words += _option(field.name, value)
    return " ".join(shlex.quote(w) for w in words)


def machine_card(device: torch.device) -> dict:
    return {"machine": describe_machine(device), "python": platform.python_version()}


def training_card(config, settings, steps, world, wall_s, final, device, amp_dtype, n_train, n_bad,
                  held_out) -> dict:
    """The card of a model ``train`` wrote: style, loss settings, recipe, machine, losses."""
    return {
        "name": Path(config.out).stem,
        "title": f"{Path(config.out).stem} (videostyle TransformerNet)",
        "style": {"image": Path(config.style).name, "path": str(config.style),
                  "licence": config.style_licence or "not recorded", "style_size": config.style_px()},
        "loss_network": {"name": config.loss_net, "antialias": config.antialias if config.loss_net != "vgg16" else None,
                         "content_layer": settings["content_layer"],
                         "style_layers": settings["style_layers"],
                         "content_weight": settings["content_weight"], "style_weight": settings["style_weight"],
                         "tv_weight": settings["tv_weight"],
                         "style_normalisation": settings["style_normalisation"],
                         "style_statistics": settings.get("style_statistics", "gram"), "jitter_px": config.jitter},
        "training": {"data": str(config.data), "training_images": n_train, "unreadable_images": n_bad,
                     "held_out": [p.name for p in held_out], "steps": steps, "batch_size": config.batch_size,
                     "processes": world, "image_size": config.crop_px(), "photo_size": list(config.photo_px()),
                     "lr": config.lr, "lr_decay_steps": config.lr_decay_steps, "seed": config.seed,
                     "init_model": config.init_model,
                     "temporal_weight": config.temporal(),
                     "precision": str(amp_dtype).removeprefix("torch.") if amp_dtype else "float32",
                     "wall_time_s": round(wall_s, 1), **machine_card(device),
                     "command": command_line("train", config)},
        "architecture": {"channels": config.channels, "residual_blocks": config.residual_blocks},
        "final_losses": {k: round(v, 6) for k, v in final.items()},
    }


def finetune_card(config, base: dict, losses, style: str, steps, wall_s, final, device, n_train, n_bad,
                  architecture: dict | None = None) -> dict:
    """The card of a fine-tuned model: its base model's card, with the fine-tuning's
    loss settings and temporal section, and without the base's measurements."""
    settings = losses.loss_settings()
    card = {k: v for k, v in base.items()
            if k not in {"final_losses", "final_losses_note", "flicker", "sample", "evaluation", "held_out_losses"}}
    recorded = {k: v for k, v in {**base.get("architecture", {}), **(architecture or {})}.items()
                if not k.startswith("contrast_ramp")}
    card["architecture"] = {**recorded, **({"contrast_ramp": config.contrast_ramp} if config.contrast_ramp > 0 else {})}
    card["name"] = Path(config.out).stem
    card["title"] = f"{Path(config.out).stem} (temporally stable fine-tune of {Path(str(config.model)).stem})"
    card.setdefault("style", {}).update({"path": style, "style_size": losses.style_px()})
    card["loss_network"] = {"name": losses.loss_net, "antialias": losses.antialias, **settings,
                            "jitter_px": config.jitter}
    card["temporal"] = {"base_model": str(config.model), "temporal_weight": config.temporal_weight,
                        "feature_weight": config.feature_weight, "noise_weight": config.noise_weight,
                        "noise_std": config.noise_std, "style_boost": config.style_boost,
                        "temporal_warmup": config.temporal_warmup,
                        "motion": dataclasses.asdict(config.motion),
                        "compressed_share": config.compressed_share, "gif_share": config.gif_share,
                        "brightness_drift_std": config.drift_std,
                        "videos": config.videos, "real_pair_fraction": config.real_pair_fraction if config.videos else 0.0,
                        "steps": steps, "batch_size": config.batch_size, "image_size": config.image_size,
                        "photo_size": list(config.photo_size) if config.photo_size else None,
                        "lr": config.lr, "lr_decay_steps": config.lr_decay_steps, "seed": config.seed,
                        "training_images": n_train, "unreadable_images": n_bad,
                        "wall_time_s": round(wall_s, 1), **machine_card(device),
                        "command": command_line("finetune", config)}
    card["final_losses"] = {k: round(v, 6) for k, v in final.items()}
    card["final_losses_note"] = f"the last fine-tuning step ({steps}), one batch"
    return card


def distill_card(config, teacher: dict, losses, style: str, steps, wall_s, final, device, amp_dtype, n_train, n_bad,
                 architecture: dict) -> dict:
    """The card of a distilled student: the teacher's style, loss settings and data licence,
    the student's architecture, and how it was distilled."""
    card = {k: v for k, v in teacher.items() if k in {"style", "loss_network", "data_licence"}}
    name = Path(config.out).stem
    card.update({
        "name": name,
        "title": f"{name} (fast student of {Path(str(config.teacher)).stem})",
        "architecture": {**architecture, **({"contrast_ramp": teacher["architecture"]["contrast_ramp"]}
                                             if teacher.get("architecture", {}).get("contrast_ramp") else {})},
        "distillation": {"teacher": str(config.teacher), "data": str(config.data), "training_images": n_train,
                         "unreadable_images": n_bad, "steps": steps, "batch_size": config.batch_size,
                         "image_size": config.image_size,
                         "photo_size": list(config.photo_size) if config.photo_size else None,
                         "pixel_weight": config.pixel_weight, "perceptual_weight": config.perceptual_weight,
                         "pair_share": config.pair_share, "temporal_weight": config.temporal_weight,
                         "style_boost": config.style_boost, "content_boost": config.content_boost,
                         "lr": config.lr, "lr_decay_steps": config.lr_decay_steps, "seed": config.seed,
                         "precision": str(amp_dtype).removeprefix("torch.") if amp_dtype else "float32",
                         "wall_time_s": round(wall_s, 1), **machine_card(device),
                         "command": command_line("distill", config)},
        "final_losses": {k: round(v, 6) for k, v in final.items()},
        "final_losses_note": f"the last distillation step ({steps}), one batch; content = feature distance to "
                             "the teacher's output",
    })
    return card
