"""Held-out content and style losses of several training runs in one picture.

Each run folder (``<out>_run/`` of ``train``, ``finetune`` or ``distill``) logs its
held-out losses in ``losses.csv`` every ``--eval-every`` steps; its own
``held_out_curve.png`` shows one run. This puts runs side by side (content above, style
below), from ``--from-step`` on, for the docs.

    python benchmarks/held_out_curves.py RUN_DIR [RUN_DIR ...] --out docs/curves.png [--from-step 1500]
    python benchmarks/held_out_curves.py RUN1 RUN2 --start-steps 2000 4000 --out …   # one model, continued twice
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from videostyle.plotting import line_plot  # noqa: E402


def held_out_rows(run: Path) -> list[dict[str, float]]:
    """The rows of a run folder's ``losses.csv`` that carry held-out losses, as floats
    (empty cells left out)."""
    with open(run / "losses.csv", newline="") as f:
        return [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)
                if row.get("heldout/content")]


def stacked(panels: list[Image.Image]) -> Image.Image:
    """Panels of one width, one above the other."""
    sheet = Image.new("RGB", (panels[0].width, sum(p.height for p in panels)), "white")
    top = 0
    for panel in panels:
        sheet.paste(panel, (0, top))
        top += panel.height
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="run folders with a losses.csv")
    parser.add_argument("--names", nargs="*", help="one label per run (default: the folder names)")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write")
    parser.add_argument("--from-step", type=int, default=0)
    parser.add_argument("--start-steps", type=int, nargs="*", metavar="STEP",
                        help="one per run: the steps its starting weights had already had (a continued run counts "
                        "from 0), so runs that continue each other line up on one axis")
    args = parser.parse_args()
    names = args.names or [run.name.removesuffix("_run") for run in args.runs]
    if len(names) != len(args.runs):
        parser.error("give one --names label per run")
    starts = args.start_steps or [0] * len(args.runs)
    if len(starts) != len(args.runs):
        parser.error("give one --start-steps value per run")
    rows = {name: [{**r, "step": r["step"] + start} for r in held_out_rows(run) if r["step"] + start >= args.from_step]
            for name, run, start in zip(names, args.runs, starts)}
    panels = [line_plot({name: ([r["step"] for r in rs], [r[f"heldout/{part}"] for r in rs])
                         for name, rs in rows.items()}, f"held-out {part} loss", "step", part)
              for part in ("content", "style")]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    stacked(panels).save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
