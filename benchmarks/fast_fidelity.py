"""How close each distilled ``<name>-fast`` model comes to the model it learned from.

For each style: the held-out photos (the 8 BSDS500 photos the teacher's card lists as
held out of training, which distillation holds out too, plus scikit-image's four sample
photos) at 512 px long side go through the teacher (the student card's teacher, a
``-stable`` twin) and the student. Measured: PSNR of the student's 8-bit output against
the teacher's (what a viewer compares), and both models' held-out content and style
losses with the teacher card's loss settings (content against the photo, as for any
model). Writes a sheet (photo | teacher | fast) to
``examples/sheets/<name>-fast_vs_teacher_512.jpg`` and the ``fast_fidelity`` section of
RESULTS.md.

    python benchmarks/fast_fidelity.py [STYLE ...] [--size 512] [--photos 8]
    python benchmarks/fast_fidelity.py starry_night --student run/checkpoints/step_002000.pt  # screen a run
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.quality import held_out_photos  # noqa: E402
from benchmarks.results import header, merge_store, write_section  # noqa: E402
from videostyle.network.models import available_models, load_model  # noqa: E402
from videostyle.plotting import image_grid  # noqa: E402
from videostyle.training.criterion import build_perceptual_loss, options_from_card  # noqa: E402
from videostyle.training.evaluation import stylize_photo  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
STORE = ROOT / "examples" / "sheets" / "fast_fidelity.json"


def psnr_8bit(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two [0, 1] images after rounding both to 8 bits, as they are written."""
    mse = ((a * 255).round() - (b * 255).round()).double().pow(2).mean().item()
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def evaluate(style: str, student_spec: str, photos: int, size: int, sheet: bool) -> dict:
    models = available_models()
    teacher_name = f"{style}-stable"
    teacher_card = models[teacher_name].card
    criterion = build_perceptual_loss(options_from_card(teacher_card, jitter=0),
                                      str(SHARED / "styles" / teacher_card["style"]["image"]), torch.device("cpu"))
    # load_model also reads a distillation checkpoint (.pt), for screening a run
    teacher, student = load_model(teacher_name), load_model(student_spec)
    rows, labels, measured = [], [], []
    for label, photo in held_out_photos(teacher_card, photos, size):
        outputs = [stylize_photo(net, photo, torch.device("cpu")) for net in (teacher, student)]
        with torch.no_grad():
            losses = [criterion(out, photo)[1] for out in outputs]
        measured.append({"psnr": psnr_8bit(outputs[1], outputs[0]),
                         **{f"{who}_{k}": float(parts[k]) for who, parts in zip(("teacher", "fast"), losses)
                            for k in ("content", "style")}})
        print(style, label, {k: round(v, 3) for k, v in measured[-1].items()}, flush=True)
        rows.append([photo[0], *(out[0] for out in outputs)])
        labels.append(label)
    if sheet:
        image_grid(rows, labels, ["content (held out)", f"teacher: {teacher_name}", f"fast: {Path(student_spec).stem}"],
                   cell=size).save(ROOT / "examples" / "sheets" / f"{style}-fast_vs_teacher_{size}.jpg", quality=88)
    mean = {k: float(np.mean([m[k] for m in measured])) for k in measured[0]}
    return {"style": style, "student": student_spec, "photos": len(measured), "size": size,
            "psnr_mean": mean["psnr"], "psnr_min": float(min(m["psnr"] for m in measured)),
            **{k: v for k, v in mean.items() if k != "psnr"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("styles", nargs="*", help="styles with a shipped <style>-fast (default: all)")
    parser.add_argument("--student", help="measure this model or distillation checkpoint (.pt) instead of "
                                          "<style>-fast; prints only, writes nothing")
    parser.add_argument("--photos", type=int, default=8, help="held-out BSDS500 photos (plus 4 scikit-image photos)")
    parser.add_argument("--size", type=int, default=512, help="long side of the photos")
    args = parser.parse_args()
    names = available_models()
    styles = args.styles or sorted(n.removesuffix("-fast") for n in names if n.endswith("-fast"))
    if args.student:
        if len(styles) != 1:
            parser.error("--student needs exactly one style")
        print(json.dumps(evaluate(styles[0], args.student, args.photos, args.size, sheet=False), indent=1))
        return
    fresh = {}
    for style in styles:
        if f"{style}-fast" not in names:
            parser.error(f"no shipped model {style}-fast")
        fresh[style] = {**evaluate(style, f"{style}-fast", args.photos, args.size, sheet=True),
                        "command": "python " + " ".join(["benchmarks/fast_fidelity.py"] + sys.argv[1:]),
                        "date": datetime.date.today().isoformat()}
    stored = merge_store(STORE, fresh)
    results = [stored[s] for s in sorted(stored)]
    rows = ["| style | photos | PSNR vs teacher, mean (lowest) | teacher content | fast content | content ratio | "
            "teacher style | fast style | style ratio |", "|---|---|---|---|---|---|---|---|---|"]
    rows += [f"| {r['style']}-fast | {r['photos']} | {r['psnr_mean']:.1f} dB ({r['psnr_min']:.1f}) | "
             f"{r['teacher_content']:.4f} | {r['fast_content']:.4f} | {r['fast_content'] / r['teacher_content']:.2f} | "
             f"{r['teacher_style']:.4f} | {r['fast_style']:.4f} | {r['fast_style'] / r['teacher_style']:.2f} |"
             for r in results]
    write_section("fast_fidelity", "\n".join([
        header("Fast models against their teachers (`benchmarks/fast_fidelity.py`)"),
        f"Held-out photos at {args.size} px long side (the teacher card's 8 held-out BSDS500 photos and "
        "scikit-image's astronaut, coffee, rocket and chelsea). PSNR of the fast model's 8-bit output against its "
        "teacher's (the `-stable` twin it was distilled from); losses with the teacher card's settings, content "
        "against the photo; ratio: fast over teacher. Sheets: `examples/sheets/<style>-fast_vs_teacher_512.jpg`.\n",
        *rows, "", "Each row's run: " + "; ".join(f"{r['style']}: `{r['command']}` ({r['date']})"
                                                  for r in results) + "."]))


if __name__ == "__main__":
    main()
