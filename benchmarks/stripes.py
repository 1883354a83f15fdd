"""Fine stripes tied to the network's pixel grid: the energy of row-to-row differences of
a model's output over that of column-to-column ones, on scikit-image's ``chelsea`` at
225x150 (docs/training-recipe.md, "Stripes"). Shipped models read 0.9-2.1; the
horizontal stripes of the runs that were not shipped read 2-7.

    python benchmarks/stripes.py MODEL_OR_CHECKPOINT ...   # shipped names, .pth files, training .pt checkpoints
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from videostyle.network.models import load_model  # noqa: E402


def stripe_ratio(net: torch.nn.Module) -> float:
    from skimage import data
    photo = Image.fromarray(data.chelsea()).resize((225, 150), Image.Resampling.LANCZOS)
    x = torch.from_numpy(np.array(photo)).permute(2, 0, 1)[None].float()
    with torch.no_grad():
        y = net(x).clamp(0, 255)[0]
    rows = (y[:, 1:, :] - y[:, :-1, :]).pow(2).mean()
    cols = (y[:, :, 1:] - y[:, :, :-1]).pow(2).mean()
    return float(rows / cols)


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    torch.set_num_threads(1)
    for name in sys.argv[1:]:  # a shipped name, a .pth, or a training checkpoint (load_model reads all three)
        print(f"{name}: {stripe_ratio(load_model(name)):.2f}", flush=True)


if __name__ == "__main__":
    main()
