"""Learning curves of training recipes: held-out losses against CPU time.

Each named setting trains one style from scratch with ``videostyle.train`` (one thread per
run, so that two runs side by side measure what one run alone costs per core) and logs
the held-out content and style losses of the training data's held-out photos every
``--eval-every`` steps (``videostyle.evaluation``). The per-image optimisation with each
setting's own loss gives the reference the ratios are taken against.

    python benchmarks/train_recipe.py run SETTING [SETTING ...] --out DIR
    python benchmarks/train_recipe.py report --out DIR   # curves PNG + RESULTS.md table
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.results import header, write_section  # noqa: E402
from videostyle.config import TrainConfig
from videostyle.network.devices import cpu_supports_bf16  # noqa: E402
from videostyle.plotting import line_plot  # noqa: E402
from videostyle.training.criterion import build_perceptual_loss
from videostyle.training.data import list_images, split_holdout  # noqa: E402
from videostyle.training.evaluation import load_photos  # noqa: E402
from videostyle.training.optimize import optimize_image  # noqa: E402
from videostyle.training.train import train  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
STYLE = SHARED / "styles" / "mosaic.jpg"
DATA = SHARED / "content" / "bsds500"

# name -> (TrainConfig fields, steps, what it tests). Steps are set so that each run costs
# about the same CPU time on one thread (a 256-px step costs about four 128-px steps).
SETTINGS: dict[str, tuple[dict, int, str]] = {
    "crop256": (dict(image_size=256, photo_size=(256, 512)), 500, "256-px crops, photos 256-512 px (old default)"),
    "crop128": (dict(image_size=128, photo_size=(256, 512)), 2000, "128-px crops at the same photo scale"),
    "crop128_small": (dict(image_size=128, photo_size=(128, 256)), 2000, "128-px crops, photos 128-256 px"),
    "crop128_wide": (dict(image_size=128, photo_size=(160, 512)), 2000, "128-px crops, photos 160-512 px"),
    "style384": (dict(image_size=128, photo_size=(256, 512), style_size=384), 2000, "style image 384 px"),
    "style256": (dict(image_size=128, photo_size=(256, 512), style_size=256), 2000, "style image 256 px"),
    "content20": (dict(image_size=128, photo_size=(256, 512), content_weight=20.0), 2000, "content weight 20"),
    "content5": (dict(image_size=128, photo_size=(256, 512), content_weight=5.0), 2000, "content weight 5"),
    "progressive": (dict(image_size=256, photo_size=(160, 512)), 150,
                    "crop128_wide's first 1500 steps, then 256-px crops"),
}
# settings that continue another setting's run: (that setting, its step)
CONTINUES = {"progressive": ("crop128_wide", 1500)}


def config(name: str, out: Path, **extra) -> TrainConfig:
    fields, steps, _ = SETTINGS[name]
    init = None
    if name in CONTINUES:
        parent, step = CONTINUES[name]
        init = str(out / parent / "checkpoints" / f"step_{step:06d}.pt")
    return TrainConfig(style=str(STYLE), data=str(DATA), out=str(out / name / "model.pth"), run_dir=str(out / name),
                       loss_net="efficientnet-lite0", iterations=steps, sample_every=500, checkpoint_every=500,
                       eval_every=50 if init else 100 if fields["image_size"] == 256 else 250, init_model=init,
                       **{**fields, **extra})


def start_offset_s(name: str, out: Path) -> float:
    """Seconds of CPU a continued setting's run starts with: those of its parent's steps."""
    if name not in CONTINUES:
        return 0.0
    parent, step = CONTINUES[name]
    return next(p["elapsed_s"] for p in curve(out, parent) if int(p["step"]) == step)


def reference_key(cfg: TrainConfig) -> str:
    settings = cfg.loss_settings()
    return f"style{cfg.style_size}_content{settings['content_weight']:g}_style{settings['style_weight']:g}"


def reference(cfg: TrainConfig, out: Path, steps: int = 200) -> dict:
    """Held-out losses of 200-step per-image optimisation with ``cfg``'s loss (cached)."""
    path = out / f"reference_{reference_key(cfg)}.json"
    if path.exists():
        return json.loads(path.read_text())
    device = torch.device("cpu")
    criterion = build_perceptual_loss(cfg, cfg.style, device)
    _, held_out = split_holdout(list_images(cfg.data), cfg.holdout)
    amp = torch.bfloat16 if cpu_supports_bf16() else None
    rows = []
    for photo in load_photos(held_out, cfg.eval_size):
        image, _ = optimize_image(photo, criterion, steps=steps, lr=0.02, amp_dtype=amp)
        with torch.no_grad():
            _, parts = criterion(image, photo)
        rows.append({k: float(parts[k]) for k in ("content", "style")})
    result = {k: sum(r[k] for r in rows) / len(rows) for k in ("content", "style")}
    result["steps"] = steps
    path.write_text(json.dumps(result))
    return result


def curve(out: Path, name: str) -> list[dict]:
    with open(out / name / "losses.csv") as fh:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(fh)
                if row.get("heldout/content")]


def report(out: Path, names: list[str]) -> None:
    series_c, series_s, rows = {}, {}, []
    for name in names:
        if not (out / name / "losses.csv").exists():
            continue
        cfg = config(name, out)
        ref = reference(cfg, out)
        points = curve(out, name)
        offset = start_offset_s(name, out)
        hours = [(offset + p["elapsed_s"]) / 3600 for p in points]
        series_c[name] = (hours, [p["heldout/content"] / ref["content"] for p in points])
        series_s[name] = (hours, [p["heldout/style"] / ref["style"] for p in points])
        last = points[-1]
        rows.append(f"| {name} | {SETTINGS[name][2]} | {int(last['step'])} | {hours[-1]:.2f} | "
                    f"{last['heldout/content']:.4f} | {last['heldout/style']:.4f} | "
                    f"{last['heldout/content'] / ref['content']:.2f} | {last['heldout/style'] / ref['style']:.2f} |")
    line_plot(series_c, "held-out content loss / per-image optimisation's", "CPU hours (one thread)", "ratio",
              log_y=True).save(out / "content_ratio.png")
    line_plot(series_s, "held-out style loss / per-image optimisation's", "CPU hours (one thread)", "ratio",
              log_y=True).save(out / "style_ratio.png")
    print("\n".join(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["run", "reference", "report"])
    parser.add_argument("settings", nargs="*", default=list(SETTINGS))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for name in args.settings:
        if name not in SETTINGS:
            parser.error(f"unknown setting {name}; choose from {', '.join(SETTINGS)}")
    if args.action == "run":
        for name in args.settings:
            train(config(name, args.out))
    elif args.action == "reference":
        for name in args.settings:
            print(name, reference(config(name, args.out), args.out))
    else:
        report(args.out, args.settings)


if __name__ == "__main__":
    main()
