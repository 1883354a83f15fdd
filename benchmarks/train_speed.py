"""Training speed on this machine: ``videostyle.train`` against a loop written the way
pytorch/examples ``fast_neural_style`` trains (fp32, NCHW tensors, the loss network run
on every layer for both output and input each step, Gram targets computed once before
the loop — which is what that code does), the full TransformerNet at 256 px, batch 4,
the same loss network, loss definitions, initial weights and batches.

Both trained networks are then scored with the same fp32 loss on a fixed batch of
held-out photos, so the speed-up is compared at equal losses.

    python benchmarks/train_speed.py [--steps 40] [--loss-net efficientnet-lite0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.results import header, write_section  # noqa: E402
from videostyle.config import TrainConfig  # noqa: E402
from videostyle.network.models import load_model  # noqa: E402
from videostyle.network.transformer_net import TransformerNet  # noqa: E402
from videostyle.training.criterion import build_perceptual_loss  # noqa: E402
from videostyle.training.data import TrainingImages, list_images, load_square, split_holdout  # noqa: E402
from videostyle.training.losses import content_loss, style_loss, total_variation  # noqa: E402
from videostyle.training.train import train  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def examples_style_loop(config: TrainConfig, steps: int) -> tuple[TransformerNet, float]:
    """pytorch/examples' loop structure with videostyle's loss definitions; returns the
    network and seconds per step (after a first, warm-up step)."""
    device = torch.device("cpu")
    criterion = build_perceptual_loss(config, config.style, device, channels_last=False)
    settings = config.loss_settings()
    layers = list(dict.fromkeys([settings["content_layer"], *settings["style_layers"]]))
    files, _ = split_holdout(list_images(config.data), config.holdout)
    data = TrainingImages(files, config.crop_px(), config.seed, config.photo_px())
    torch.manual_seed(config.seed)
    net = TransformerNet()
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    start = None
    for step in range(steps):
        if step == 1:
            start = time.perf_counter()
        x = data.batch(step, config.batch_size)
        jitter = np.random.default_rng([config.seed, step, 2]).integers(0, config.jitter + 1, size=2)
        optimizer.zero_grad()
        y = net(x * 255) / 255
        dy, dx = int(jitter[0]), int(jitter[1])
        crop = lambda t: t[..., dy:t.shape[-2] - config.jitter + dy, dx:t.shape[-1] - config.jitter + dx]  # noqa: E731
        features_y = criterion.loss_net(crop(y), layers)
        features_x = criterion.loss_net(crop(x), layers)  # every layer, as examples does for VGG
        c = content_loss(features_y[settings["content_layer"]], features_x[settings["content_layer"]],
                         settings["style_normalisation"])
        s, _ = style_loss(features_y, criterion.target, settings["style_layers"], settings["style_normalisation"])
        total = settings["content_weight"] * c + settings["style_weight"] * s + settings["tv_weight"] * total_variation(y)
        total.backward()
        optimizer.step()
    return net, (time.perf_counter() - start) / (steps - 1)


def videostyle_loop(config: TrainConfig, steps: int) -> tuple[TransformerNet, float]:
    stamps = []
    result = train(config, lambda step, total, parts: stamps.append(time.perf_counter()))
    return load_model(result.model_path), (stamps[-1] - stamps[0]) / (len(stamps) - 1)


def score(net: TransformerNet, config: TrainConfig, held_out: list[Path]) -> dict[str, float]:
    criterion = build_perceptual_loss(replace(config, jitter=0), config.style, torch.device("cpu"))
    batch = torch.stack([load_square(p, config.crop_px()) for p in held_out])
    with torch.no_grad():
        _, parts = criterion(net.eval()(batch * 255) / 255, batch)
    return {k: float(parts[k]) for k in ("total", "content", "style", "tv")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--loss-net", default="efficientnet-lite0", choices=["efficientnet-lite0"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = TrainConfig(style=str(SHARED / "styles" / "mosaic.jpg"), data=str(SHARED / "content" / "bsds500"),
                             out=str(Path(tmp) / "bench.pth"), loss_net=args.loss_net, iterations=args.steps,
                             batch_size=4, image_size=256, sample_every=10 ** 9, checkpoint_every=10 ** 9,
                             eval_every=0, device="cpu", seed=0)
        _, held_out = split_holdout(list_images(config.data), config.holdout)
        ours, ours_s = videostyle_loop(config, args.steps)
        base, base_s = examples_style_loop(config, args.steps)
        ours_scores, base_scores = score(ours, config, held_out), score(base, config, held_out)
    rows = ["| loop | s/step | steps/s | held-out total | content | style | tv |", "|---|---|---|---|---|---|---|"]
    for name, s, sc in (("pytorch/examples style (fp32, NCHW)", base_s, base_scores),
                        ("videostyle.train (bf16 autocast, channels_last)", ours_s, ours_scores)):
        rows.append(f"| {name} | {s:.3f} | {1 / s:.3f} | {sc['total']:.4f} | {sc['content']:.4f} | "
                    f"{sc['style']:.4f} | {sc['tv']:.4f} |")
        print(rows[-1], flush=True)
    diff = 100 * (ours_scores["total"] / base_scores["total"] - 1)
    text = "\n".join([header("Training speed (`benchmarks/train_speed.py`)"),
                      f"Full TransformerNet, 256 px crops of BSDS500, batch 4, {args.steps} steps from the same "
                      f"initial weights and batches, loss network {args.loss_net} with videostyle's default "
                      "settings for it. Seconds per step exclude the first (warm-up) step.\n", *rows, "",
                      f"**Speed-up: {base_s / ours_s:.2f}x**; held-out total loss after {args.steps} steps differs "
                      f"by {diff:+.1f}% (videostyle vs baseline).\n",
                      "Note: pytorch/examples computes the style Grams once before its loop (it does not "
                      "recompute them each step); the baseline does the same, so the speed-up comes from "
                      "bf16 autocast, channels_last memory layout, computing only the content layer for the "
                      "input image, and loading the next batch while the current step runs."])
    write_section("train_speed", text)


if __name__ == "__main__":
    main()
