"""Flicker of each ``<name>-fast`` model against the ``-stable`` twin it learned from.

The same clips, sizes and measurement as ``benchmarks/flicker.py`` (every clip of
../shared/data/media with two or more frames and the four generated camera clips, each
stylized at ``--max-size`` and written losslessly, warping error against the original's
flow): the twin's and the fast model's warping error per clip, and the mean of the
per-clip ratios fast / twin (at most 1: at least as steady as the twin). Writes the
``flicker_fast`` section of RESULTS.md.

    python benchmarks/fast_flicker.py [STYLE ...] [--max-size 320]
    python benchmarks/fast_flicker.py starry_night --fast run/checkpoints/step_002000.pt  # screen a run
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
from benchmarks.flicker import MEDIA, frame_count, generated_clips, measure  # noqa: E402
from benchmarks.results import header, merge_store, write_section  # noqa: E402
from videostyle.network.devices import cpu_supports_bf16  # noqa: E402
from videostyle.network.models import available_models, load_model  # noqa: E402
from videostyle.network.stylize import Stylizer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "benchmarks" / "flicker_fast.json"


def compare(style: str, fast_spec: str, clips: list[Path], frames: dict, tmp: Path, max_size: int, half: bool) -> dict:
    stylizers = {"stable": Stylizer(load_model(f"{style}-stable"), "cpu", half=half),
                 "fast": Stylizer(load_model(fast_spec), "cpu", half=half)}
    rows = []
    for clip in clips:
        suffix = ".gif" if clip.suffix == ".gif" else ".mkv"
        error = {k: measure(clip, tmp / f"{style}_{k}_{clip.stem}{suffix}", s, max_size, None)[0]
                 for k, s in stylizers.items()}
        rows.append({"clip": clip.name, "frames": frames[clip], **error})
        print(f"{style} | {clip.name} | stable {error['stable']:.5f} | fast {error['fast']:.5f} | "
              f"fast/stable {error['fast'] / error['stable']:.3f}", flush=True)
    ratios = [r["fast"] / r["stable"] for r in rows]
    return {"style": style, "rows": rows, "mean_of_ratios": float(np.mean(ratios)), "worst": float(max(ratios)),
            "clips_at_most_1": sum(r <= 1 for r in ratios)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("styles", nargs="*", help="styles with a shipped <style>-fast (default: all)")
    parser.add_argument("--fast", help="measure this model or distillation checkpoint (.pt) as the fast model; "
                                       "prints only, writes nothing")
    parser.add_argument("--max-size", type=int, default=320)
    args = parser.parse_args()
    names = available_models()
    styles = args.styles or sorted(n.removesuffix("-fast") for n in names if n.endswith("-fast"))
    if args.fast and len(styles) != 1:
        parser.error("--fast needs exactly one style")
    half = cpu_supports_bf16()
    command = (f"OMP_NUM_THREADS={torch.get_num_threads()} python "
               + " ".join(["benchmarks/fast_flicker.py"] + sys.argv[1:]))
    fresh = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clips = sorted(MEDIA.iterdir()) + generated_clips(tmp)
        frames = {clip: frame_count(clip) for clip in clips}
        clips = [clip for clip in clips if frames[clip] >= 2]  # flicker needs two frames
        for style in styles:
            result = compare(style, args.fast or f"{style}-fast", clips, frames, tmp, args.max_size, half)
            print(f"{style}: fast/stable mean of per-clip ratios {result['mean_of_ratios']:.3f}, worst "
                  f"{result['worst']:.3f}, {result['clips_at_most_1']} of {len(clips)} clips at or below 1", flush=True)
            fresh[style] = {**result, "command": command, "date": datetime.date.today().isoformat(),
                            "precision": "bf16" if half else "fp32"}
    if args.fast:
        return
    results = merge_store(STORE, fresh)
    sections = []
    for style in sorted(results):
        r = results[style]
        sections += [f"### {style}-fast against {style}-stable\n",
                     f"Command: `{r['command']}` ({r['date']}, {r['precision']}).\n",
                     "| clip | frames | stable | fast | fast / stable |", "|---|---|---|---|---|",
                     *(f"| {row['clip']} | {row['frames']} | {row['stable']:.5f} | {row['fast']:.5f} | "
                       f"{row['fast'] / row['stable']:.2f} |" for row in r["rows"]),
                     "", f"Mean of per-clip ratios {r['mean_of_ratios']:.2f}, worst clip {r['worst']:.2f}, "
                     f"{r['clips_at_most_1']} of {len(r['rows'])} clips at or below 1.\n"]
    write_section("flicker_fast", "\n".join([
        header("Flicker of the fast models (`benchmarks/fast_flicker.py`)"),
        "Temporal warping error as in the flicker section (same clips, --max-size, lossless outputs), of each "
        "`-fast` model and the `-stable` twin it was distilled from.\n", *sections]))


if __name__ == "__main__":
    main()
