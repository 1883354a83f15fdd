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
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.held_out_curves import held_out_rows, stacked  # noqa: E402
from benchmarks.results import header, write_section  # noqa: E402
from videostyle.config import TrainConfig  # noqa: E402
from videostyle.network.devices import autocast, native_half_dtype  # noqa: E402
from videostyle.network.transformer_net import TransformerNet  # noqa: E402
from videostyle.plotting import line_plot  # noqa: E402
from videostyle.training.criterion import build_perceptual_loss  # noqa: E402
from videostyle.training.data import list_images, split_holdout  # noqa: E402
from videostyle.training.evaluation import load_photos  # noqa: E402
from videostyle.training.optimize import optimize_image  # noqa: E402
from videostyle.training.train import train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
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
    # the settings were run at content weight 10 (the default then) unless they say otherwise
    fields = {"content_weight": 10.0, **fields}
    return TrainConfig(style=str(STYLE), data=str(DATA), out=str(out / name / "model.pth"), run_dir=str(out / name),
                       loss_net="efficientnet-lite0", iterations=steps, sample_every=500, checkpoint_every=500,
                       eval_every=50 if init else 100 if fields["image_size"] == 256 else 250, init_model=init,
                       **{**fields, **extra})


def start_offset_s(name: str, out: Path) -> float:
    """Seconds of CPU a continued setting's run starts with: those of its parent's steps."""
    if name not in CONTINUES:
        return 0.0
    parent, step = CONTINUES[name]
    return next(p["elapsed_s"] for p in held_out_rows(out / parent) if int(p["step"]) == step)


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
    amp = native_half_dtype(device)
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


def step_seconds(crop: int, steps: int = 6) -> float:
    """Median seconds of one training step (batch 4, ``crop`` px, this CPU's precision) on
    one thread: the cost that turns steps into CPU time, measured rather than read off
    wall clocks that other jobs slowed."""
    cfg = config("crop128", Path("unused"))
    device = torch.device("cpu")
    criterion = build_perceptual_loss(cfg, cfg.style, device, channels_last=True)
    net = TransformerNet().to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)
    x = torch.rand(4, 3, crop, crop).contiguous(memory_format=torch.channels_last)
    amp = native_half_dtype(device)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        with autocast(device, amp):
            loss, _ = criterion(net(x * 255) / 255, x, (1, 2))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return float(np.median(times[1:]))


def report(out: Path, names: list[str]) -> None:
    """The curves (held-out loss over the per-image optimisation's, against CPU hours) as
    docs/training-recipe.png, and the table in RESULTS.md."""
    cost = {crop: step_seconds(crop) for crop in (128, 256)}
    series_c, series_s, rows = {}, {}, []
    for name in names:
        if not (out / name / "losses.csv").exists():
            continue
        fields = SETTINGS[name][0]
        ref = reference(config(name, out), out)
        points = held_out_rows(out / name)
        offset = 0.0
        if name in CONTINUES:
            parent, step = CONTINUES[name]
            offset = step * cost[SETTINGS[parent][0]["image_size"]]
        hours = [(offset + p["step"] * cost[fields["image_size"]]) / 3600 for p in points]
        series_c[name] = (hours, [p["heldout/content"] / ref["content"] for p in points])
        series_s[name] = (hours, [p["heldout/style"] / ref["style"] for p in points])
        last = points[-1]
        rows.append(f"| {name} | {SETTINGS[name][2]} | {int(last['step'])} | {hours[-1]:.2f} | "
                    f"{last['heldout/content']:.4f} | {last['heldout/style']:.4f} | {ref['content']:.4f} | "
                    f"{ref['style']:.4f} | {last['heldout/content'] / ref['content']:.2f} | "
                    f"{last['heldout/style'] / ref['style']:.2f} |")
    content = line_plot(series_c, "held-out content loss / per-image optimisation's", "CPU hours (one thread)",
                        "ratio", log_y=True)
    style = line_plot(series_s, "held-out style loss / per-image optimisation's", "CPU hours (one thread)", "ratio",
                      log_y=True)
    stacked([content, style]).save(ROOT / "docs" / "training-recipe.png")
    write_section("train_recipe", "\n".join([
        header("Training recipes (`benchmarks/train_recipe.py`)"),
        "The `mosaic` style trained from scratch (batch 4, Adam 1e-3, EfficientNet-Lite0 loss network, bf16 where "
        "the CPU has it, one thread per run, two runs side by side) under each setting; held-out losses of the 8 "
        "BSDS500 photos held out of training (whole photos, 256 px long side, no jitter) every 250 steps (100 or "
        "50 at 256-px crops), over those of 200-step per-image optimisation with the same setting's loss (the "
        "reference columns). CPU hours: steps times the seconds per step measured here on one thread "
        f"({cost[128]:.2f} s at 128-px crops, {cost[256]:.2f} s at 256-px crops), not wall time, which the "
        "other jobs on the machine stretched. Photo size: the short side the photos are scaled to before a crop "
        "is cut. Curves: `docs/training-recipe.png`.\n",
        "| setting | what | steps | CPU h | content | style | reference content | reference style | content "
        "ratio | style ratio |", "|---|---|---|---|---|---|---|---|---|---|", *rows]))


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
