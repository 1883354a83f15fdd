"""Where a stable model's extra style loss sits: the style loss per loss-network layer.

For each shipped model and its ``-stable`` fine-tune, on the base model's held-out
photos (as ``benchmarks/flicker.py``'s style/content check: 8 photos at 256 px, the
base model's card settings), the content, style and TV losses and each style layer's
part, then the stable model's change against the base model per column. The style
column is the weighted sum of the layer columns, so a layer's share of the base
model's style loss says how much a change there moves the total.

    python benchmarks/style_layers.py [--models A,B] [--photos N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.quality import _LossConfig, held_out_photos  # noqa: E402
from benchmarks.results import header, write_section  # noqa: E402
from videostyle.models import available_models, load_model  # noqa: E402
from videostyle.training import build_perceptual_loss  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
MODELS = "great_wave,mosaic,starry_night,the_scream"


def layer_losses(base: str, names: list[str], photos: int) -> dict[str, dict[str, float]]:
    """Mean content, style, TV and per-layer style losses of each model on ``base``'s
    held-out photos, measured with ``base``'s loss settings."""
    card = available_models()[base].card
    criterion = build_perceptual_loss(_LossConfig(card, SHARED / "styles" / card["style"]["image"]),
                                      torch.device("cpu"))
    contents = [content for _, content in held_out_photos(card, photos, 256)]
    rows = {}
    for name in names:
        net = load_model(name)
        parts = []
        for content in contents:
            with torch.no_grad():
                _, p = criterion((net(content * 255) / 255).clamp(0, 1), content)
            weights = {f"style/{layer}": w for layer, w in criterion.style_layers.items()}
            parts.append({k: float(v) * weights.get(k, 1.0) for k, v in p.items() if k != "total"})
        rows[name] = {k: float(np.mean([p[k] for p in parts])) for k in parts[0]}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=MODELS, help=f"comma-separated base models (default: {MODELS})")
    parser.add_argument("--photos", type=int, default=8, help="held-out photos per model (default: 8)")
    args = parser.parse_args()
    lines = [header("Style loss per layer, base and stable (`benchmarks/style_layers.py`)"),
             f"On each base model's {args.photos} held-out photos at 256 px, with its card's loss settings: the "
             "mean content, style and TV losses and each style layer's part of the style loss (its weight "
             "included; the layers add up to the style column), for the base model, and the stable model's "
             "change against it. See the script's docstring.\n"]
    for base in args.models.split(","):
        rows = layer_losses(base, [base, f"{base}-stable"], args.photos)
        keys = list(rows[base])
        names = [k.removeprefix("style/") if k.startswith("style/") else k for k in keys]
        lines += ["| model | " + " | ".join(names) + " |", "|---" * (len(keys) + 1) + "|",
                  f"| {base} | " + " | ".join(f"{rows[base][k]:.4g}" for k in keys) + " |",
                  f"| {base}-stable | " + " | ".join(f"{100 * (rows[base + '-stable'][k] / rows[base][k] - 1):+.1f} %"
                                                    for k in keys) + " |", ""]
        print("\n".join(lines[-5:]), flush=True)
    write_section("style_layers", "\n".join(lines))


if __name__ == "__main__":
    main()
