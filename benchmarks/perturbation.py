"""How much each shipped model's output moves when its input moves a little, by kind of change.

For the held-out BSDS500 photos named in each model's card (resized to 320x214), the
output change per unit of input change, E‖T(x + δ) − T(x)‖² / E‖δ‖² (RGB in [0, 1]),
for perturbations δ of a few kinds:

- pixel noise, i.i.d. Gaussian (std 0.03, what ``finetune``'s noise term uses, and 0.005);
- a smooth grey brightness field (what ``finetune --brightness-drift`` adds to frame 2
  of its pairs) with features of 8 and 32 px, std 0.005 (about 1.3 grey levels);
- a 2 % gain.

A gain of 1 means the stylized picture changes as much as the input did; the larger, the
more a small change in the input (codec noise, a lighting change) re-forms the texture.

    python benchmarks/perturbation.py [MODEL ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.quality import SHARED  # noqa: E402
from benchmarks.results import header, write_section  # noqa: E402
from videostyle.network.models import available_models, load_model  # noqa: E402
from videostyle.temporal.degrade import brightness_field  # noqa: E402
from videostyle.training.data import to_tensor  # noqa: E402

SIZE = (320, 214)


def photos(card: dict) -> torch.Tensor:
    names = card.get("training", {}).get("held_out", [])
    if not names:
        raise SystemExit("the model's card names no held-out photos")
    return torch.stack([to_tensor(Image.open(SHARED / "content" / "bsds500" / n).convert("RGB").resize(SIZE,
                                                                                                    Image.Resampling.LANCZOS))
                        for n in names])


def perturbations(x: torch.Tensor, seed: int = 0) -> dict[str, torch.Tensor]:
    rng = np.random.default_rng(seed)
    b, _, h, w = x.shape

    def smooth(feature_px: float, std: float) -> torch.Tensor:
        return torch.stack([brightness_field(h, w, feature_px, rng) for _ in range(b)])[:, None].expand_as(x) * std

    noise = torch.from_numpy(rng.standard_normal(x.shape).astype(np.float32))
    return {"noise 0.03": noise * 0.03, "noise 0.005": noise * 0.005,
            "smooth 8 px 0.005": smooth(8, 0.005), "smooth 32 px 0.005": smooth(32, 0.005), "gain 2 %": x * 0.02}


def gains(name: str) -> dict[str, float]:
    info = available_models()[name]
    x = photos(info.card)
    net = load_model(name).eval()
    out = {}
    with torch.no_grad():
        clean = net(x * 255) / 255
        for kind, delta in perturbations(x).items():
            perturbed = (x + delta).clamp(0, 1)  # what reaches the network
            moved = net(perturbed * 255) / 255
            out[kind] = float(F.mse_loss(moved, clean) / (perturbed - x).pow(2).mean())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", help="models (default: every shipped model)")
    args = parser.parse_args()
    names = args.models or sorted(available_models())
    rows = {name: gains(name) for name in names}
    kinds = list(next(iter(rows.values())))
    lines = [header("Output change per unit input change (`benchmarks/perturbation.py`)"),
             "E‖T(x + δ) − T(x)‖² / E‖δ‖² on the 8 held-out photos of each card at 320x214, RGB in [0, 1]; "
             "see the script's docstring for the kinds of δ.\n",
             "| model | " + " | ".join(kinds) + " |", "|---" * (len(kinds) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(f"{row[k]:.2f}" for k in kinds) + " |" for name, row in rows.items()]
    write_section("perturbation", "\n".join(lines))


if __name__ == "__main__":
    main()
