"""Where a stable model's extra style loss sits: the style loss per loss-network layer.

For each shipped model and its ``-stable`` fine-tune, measured as
``benchmarks/flicker.py``'s style/content check does (``loss_parts``: 8 held-out photos
at 256 px, each card's loss settings, which a fine-tune keeps from its base model), the
content, style and TV losses and each style layer's part, then the stable model's
change against the base model per column. The style column is the weighted sum of the
layer columns, so a layer's share of the base model's style loss says how much a
change there moves the total.

    python benchmarks/style_layers.py [--models A,B] [--photos N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.flicker import loss_parts  # noqa: E402
from benchmarks.results import header, write_section  # noqa: E402

MODELS = "great_wave,mosaic,starry_night,the_scream"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=MODELS, help=f"comma-separated base models (default: {MODELS})")
    parser.add_argument("--photos", type=int, default=8, help="held-out photos per model (default: 8)")
    args = parser.parse_args()
    lines = [header("Style loss per layer, base and stable (`benchmarks/style_layers.py`)"),
             f"On each model's {args.photos} held-out photos at 256 px, with its card's loss settings: the "
             "mean content, style and TV losses and each style layer's part of the style loss (its weight "
             "included; the layers add up to the style column), for the base model, and the stable model's "
             "change against it. See the script's docstring.\n"]
    for base in args.models.split(","):
        rows = {name: loss_parts(name, args.photos) for name in (base, f"{base}-stable")}
        keys = list(rows[base])
        names = [k.removeprefix("style/") for k in keys]
        lines += ["| model | " + " | ".join(names) + " |", "|---" * (len(keys) + 1) + "|",
                  f"| {base} | " + " | ".join(f"{rows[base][k]:.4g}" for k in keys) + " |",
                  f"| {base}-stable | " + " | ".join(f"{100 * (rows[base + '-stable'][k] / rows[base][k] - 1):+.1f} %"
                                                    for k in keys) + " |", ""]
        print("\n".join(lines[-5:]), flush=True)
    write_section("style_layers", "\n".join(lines))


if __name__ == "__main__":
    main()
