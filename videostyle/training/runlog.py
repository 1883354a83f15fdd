"""What a training run leaves to look at: a CSV of losses (and TensorBoard scalars when
TensorBoard is installed), sample grids of fixed validation images, a loss-curve PNG."""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Callable, Sequence

import torch

from ..plotting import image_grid, line_plot

log = logging.getLogger(__name__)


def moving_average(values: Sequence[float], window: int) -> list[float]:
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= window:
            acc -= values[i - window]
        out.append(acc / min(i + 1, window))
    return out


class RunLog:
    """Writes under ``folder``: ``losses.csv``, ``samples/step_NNNNNN.png``, ``loss_curve.png``.

    ``history`` (the list of logged rows) is kept so that a resumed run continues the same
    files; only the process that writes (rank 0) should make one.
    """

    def __init__(self, folder: Path, history: list[dict] | None = None):
        self.folder = folder
        self.history: list[dict] = list(history or [])
        (folder / "samples").mkdir(parents=True, exist_ok=True)
        self._tensorboard = None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            log.debug("TensorBoard not installed; logging to CSV only")
        else:
            self._tensorboard = SummaryWriter(str(folder / "tensorboard"))

    def add(self, step: int, parts: dict[str, float]) -> None:
        row = {"step": step, **{k: float(v) for k, v in parts.items()}}
        self.history.append(row)
        if self._tensorboard is not None:
            for key, value in row.items():
                if key != "step":
                    self._tensorboard.add_scalar(f"loss/{key}", value, step)

    def write_csv(self) -> None:
        if not self.history:
            return
        keys = list(dict.fromkeys(k for row in self.history for k in row))
        # the step, the training losses, then the held-out losses and the clock
        keys.sort(key=lambda k: (k != "step", k.startswith("heldout/"), k == "elapsed_s"))
        with open(self.folder / "losses.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=keys)
            writer.writeheader()
            writer.writerows(self.history)

    def sample(self, step: int, inputs: torch.Tensor, stylize: Callable[[torch.Tensor], torch.Tensor],
               extra_rows: Sequence[tuple[str, torch.Tensor]] = ()) -> Path:
        """Grid of validation inputs (top) and their stylizations at this step (bottom)."""
        outputs = stylize(inputs)
        rows = [list(inputs), list(outputs)] + [list(images) for _, images in extra_rows]
        labels = ["input", f"step {step}"] + [label for label, _ in extra_rows]
        path = self.folder / "samples" / f"step_{step:06d}.png"
        image_grid(rows, labels).save(path)
        if self._tensorboard is not None:
            self._tensorboard.add_images("samples", outputs.clamp(0, 1), step)
        return path

    def loss_curve(self, keys: Sequence[str], weights: dict[str, float]) -> Path:
        """Weighted loss terms over steps (moving average over 5% of the run), log scale."""
        trained = [row for row in self.history if "total" in row]  # not the starting weights' held-out row
        steps = [row["step"] for row in trained]
        window = max(1, len(steps) // 20)
        series = {}
        for key in keys:
            values = [row.get(key, float("nan")) * weights.get(key, 1.0) for row in trained]
            label = f"{weights[key]:g} x {key}" if key in weights else key
            series[label] = (steps, moving_average(values, window))
        path = self.folder / "loss_curve.png"
        line_plot(series, "training losses (moving average)", "step", "loss", log_y=True).save(path)
        return path

    def held_out_curve(self) -> Path | None:
        """Held-out content and style losses over steps (``heldout/...`` rows), log scale."""
        series = {}
        for key in ("content", "style"):
            rows = [(row["step"], row[f"heldout/{key}"]) for row in self.history if f"heldout/{key}" in row]
            if rows:
                series[f"held-out {key}"] = ([r[0] for r in rows], [r[1] for r in rows])
        if not series:
            return None
        path = self.folder / "held_out_curve.png"
        line_plot(series, "held-out losses (whole photos, no jitter)", "step", "loss", log_y=True).save(path)
        return path

    def close(self) -> None:
        self.write_csv()
        if self._tensorboard is not None:
            self._tensorboard.close()
