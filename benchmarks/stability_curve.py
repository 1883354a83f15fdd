"""What ``--stability`` buys and costs: flicker against style along the line between a base
model and its ``-stable`` twin.

For each point (0 = the base model, 1 = the stable twin, between: the interpolated weights
that ``videostyle run --stability S`` uses), every clip of ``benchmarks/flicker.py`` with two
or more frames is stylized and its warping error measured, and the content and style losses
are measured on the card's held-out photos. Writes the table to ``benchmarks/RESULTS.md``
(section ``stability``) and the curve to ``docs/stability-curve.png``.

    python benchmarks/stability_curve.py [MODEL ...] [--points 0,0.25,0.5,0.75,1] [--max-size 320]
    python benchmarks/stability_curve.py mosaic --camera-only   # the 4 generated camera clips alone
"""
from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.flicker import MEDIA, frame_count, generated_clips, losses_on_photos, measure  # noqa: E402
from benchmarks.results import header, merge_store, write_section  # noqa: E402
from videostyle.network.devices import cpu_supports_bf16  # noqa: E402
from videostyle.network.models import available_models, load_blend  # noqa: E402
from videostyle.network.stylize import Stylizer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def curve(name: str, points: list[float], clips: list[Path], tmp: Path, max_size: int, half: bool) -> list[dict]:
    """One row per point: mean warping error over ``clips``, its mean ratio to the base's
    per clip, and the held-out content and style losses."""
    rows, base_errors = [], None
    for point in points:
        net = load_blend(name, point)
        stylizer = Stylizer(net, "cpu", half=half)
        errors = []
        for clip in clips:
            out = tmp / f"{name}_{point}_{clip.stem}{'.gif' if clip.suffix == '.gif' else '.mkv'}"
            errors.append(measure(clip, out, stylizer, max_size, None)[0])
        base_errors = base_errors or errors
        losses = losses_on_photos(name, net=load_blend(name, point))
        rows.append({"stability": point, "warping_error": float(np.mean(errors)),
                     "ratio": float(np.mean([e / b for e, b in zip(errors, base_errors)])), **losses})
        print(name, rows[-1], flush=True)
    return rows


def plot(results: dict[str, list[dict]], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4.2), dpi=110)
    for name, rows in results.items():
        base_style = rows[0]["style"]
        x = [100 * (r["style"] / base_style - 1) for r in rows]
        y = [r["ratio"] for r in rows]
        ax.plot(x, y, "o-", label=name)
        for r, xi, yi in zip(rows, x, y):
            ax.annotate(f"{r['stability']:g}", (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xlabel("held-out style loss, % above the base model")
    ax.set_ylabel("warping error / base model's (mean over clips)")
    ax.set_title("--stability S: steadiness against style (labels: S)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", help="base models with a -stable twin (default: all shipped)")
    parser.add_argument("--points", default="0,0.25,0.5,0.75,1")
    parser.add_argument("--max-size", type=int, default=320)
    parser.add_argument("--camera-only", action="store_true",
                        help="only the generated camera clips (pan, zoom, shake over photos), not the media clips")
    args = parser.parse_args()
    models = available_models()
    names = args.models or [n for n in models if f"{n}-stable" in models]
    points = [float(p) for p in args.points.split(",")]
    half = cpu_supports_bf16()
    command = f"OMP_NUM_THREADS={torch.get_num_threads()} python " + " ".join(["benchmarks/stability_curve.py"] + sys.argv[1:])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clips = ([] if args.camera_only else sorted(MEDIA.iterdir())) + generated_clips(tmp)
        clips = [c for c in clips if frame_count(c) >= 2]
        results = {name: curve(name, points, clips, tmp, args.max_size, half) for name in names}
    # models measured in earlier runs stay, with their command
    runs = merge_store(ROOT / "benchmarks" / "stability.json",
                       {name: {"command": command, "date": str(datetime.date.today()), "rows": rows}
                        for name, rows in results.items()}, indent=1)
    results = {name: run["rows"] for name, run in sorted(runs.items())}
    png = ROOT / "docs" / "stability-curve.png"
    plot(results, png)
    lines = [header("Stability knob (`benchmarks/stability_curve.py`)"),
             f"Command: `{command}` ({datetime.date.today()}); {len(clips)} clips "
             f"({'the generated camera clips' if args.camera_only else 'those'} of the flicker section), "
             f"--max-size {args.max_size}, {'bf16' if half else 'fp32'}. Warping error as in the flicker section; "
             "ratio = mean over clips of the point's error over the base model's; losses on the card's 8 held-out "
             f"photos at 256 px. Curve: `docs/{png.name}`.\n"]
    for name, rows in results.items():
        lines += [f"### {name}\n", f"`{runs[name]['command']}` ({runs[name]['date']})\n", "| --stability | warping error | / base (mean of clips) | content | style | style vs base |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {r['stability']:g} | {r['warping_error']:.5f} | {r['ratio']:.2f} | {r['content']:.4f} | "
                  f"{r['style']:.4f} | {100 * (r['style'] / rows[0]['style'] - 1):+.1f} % |" for r in rows]
        lines.append("")
    write_section("stability", "\n".join(lines))


if __name__ == "__main__":
    main()
