"""Quality sheets and held-out losses for shipped models.

For each model: a sheet (content | style | fast network | per-image optimisation with
the same loss network, Gatys-style) over held-out photos — the BSDS500 photos the
model card lists as held out of training plus scikit-image's sample photos, none of
which were trained on — written to ``examples/sheets/<model>_<size>.jpg``, and the mean
content and style losses (the model's own loss settings, no jitter) of both columns and
their ratios, written to RESULTS.md (at 256 px).

    python benchmarks/quality.py [MODEL ...] [--photos 8] [--steps 200] [--size 256]
    python benchmarks/quality.py [MODEL ...] --size 512 --no-reference   # the network alone, larger
    python benchmarks/quality.py MODEL --weights RUN/checkpoints/step_003750.pt   # a candidate, before shipping
    python benchmarks/quality.py MODEL --weights CKPT --size 512 --no-reference --sheet out.jpg   # its sheet

With ``--weights`` the network comes from that file (a training checkpoint or a .pth)
and is measured against the per-image optimisation already stored for MODEL: that
optimisation depends only on the photos and the loss settings, not on the network, so a
candidate's ratios cost seconds instead of the optimisation's minutes. Nothing is
written unless ``--sheet PATH`` asks for the sheet.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.results import header, write_section  # noqa: E402
from videostyle.media.decode import scaled_size  # noqa: E402
from videostyle.network.models import available_models, load_model  # noqa: E402
from videostyle.plotting import image_grid  # noqa: E402
from videostyle.training.criterion import build_perceptual_loss, options_from_card  # noqa: E402
from videostyle.network.devices import native_half_dtype  # noqa: E402
from videostyle.training.evaluation import stylize_photo  # noqa: E402
from videostyle.training.data import to_tensor  # noqa: E402
from videostyle.training.optimize import optimize_image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SKIMAGE_PHOTOS = ("astronaut", "coffee", "rocket", "chelsea")
STORE = ROOT / "examples" / "sheets" / "losses.json"


def stored_results() -> dict[str, dict]:
    """The rows of earlier runs, by model (each with its per-image optimisation)."""
    return {r["model"]: r for r in json.loads(STORE.read_text())} if STORE.exists() else {}


def held_out_photos(card: dict, count: int, size: int) -> list[tuple[str, torch.Tensor]]:
    photos = []
    for name in card.get("training", {}).get("held_out", [])[:count]:
        image = Image.open(SHARED / "content" / "bsds500" / name).convert("RGB")
        photos.append((name, image))
    from skimage import data
    for name in SKIMAGE_PHOTOS:
        photos.append((f"skimage {name}", Image.fromarray(getattr(data, name)()).convert("RGB")))
    out = []
    for name, image in photos:
        w, h = scaled_size(image.width, image.height, size)
        out.append((name, to_tensor(image.resize((w, h), Image.Resampling.LANCZOS))[None]))
    return out


def evaluate(name: str, photos: int, steps: int, size: int, reference: bool = True,
             weights: str | None = None, sheet: Path | None = None) -> dict:
    info = available_models()[name]
    card = info.card
    style = SHARED / "styles" / card["style"]["image"]
    criterion = build_perceptual_loss(options_from_card(card, jitter=0), str(style), torch.device("cpu"))
    optimise = reference and not weights  # a candidate is measured against the stored optimisation
    optimise_criterion = build_perceptual_loss(options_from_card(card, jitter=3), str(style),
                                               torch.device("cpu")) if optimise else None
    net = load_model(weights or name)
    rows, labels, fast_parts, slow_parts = [], [], [], []
    style_image = Image.open(style).convert("RGB")
    for label, content in held_out_photos(card, photos, size):
        fast = stylize_photo(net, content, torch.device("cpu"))
        with torch.no_grad():
            _, parts = criterion(fast, content)
        fast_parts.append({k: float(v) for k, v in parts.items()})
        if not optimise:
            rows.append([content[0], style_image, fast[0]])
            labels.append(label)
            continue
        slow, slow_loss = optimize_image(content, optimise_criterion, steps=steps, lr=0.02,
                                         amp_dtype=native_half_dtype(torch.device("cpu")))
        with torch.no_grad():
            _, parts = criterion(slow, content)
        slow_parts.append({k: float(v) for k, v in parts.items()})
        rows.append([content[0], style_image, fast[0], slow[0]])
        labels.append(label)
        print(name, label, {k: round(fast_parts[-1][k], 4) for k in ("content", "style")},
              {k: round(slow_parts[-1][k], 4) for k in ("content", "style")}, flush=True)
    columns = ["content (held out)", f"style: {card['style']['image']}",
               f"videostyle {Path(weights).name if weights else name}", "per-image optimisation"][:len(rows[0])]
    if sheet is None and not weights:
        sheet = ROOT / "examples" / "sheets" / f"{name}_{size}.jpg"
    if sheet is not None:
        sheet.parent.mkdir(parents=True, exist_ok=True)
        image_grid(rows, labels, columns, cell=size).save(sheet, quality=88)
    mean = lambda parts, key: float(np.mean([p[key] for p in parts]))  # noqa: E731
    if weights:
        return {"model": name, "weights": weights, "photos": len(rows),
                "fast_content": mean(fast_parts, "content"), "fast_style": mean(fast_parts, "style")}
    if not reference:
        return {}
    return {"model": name, "photos": len(rows), "fast_content": mean(fast_parts, "content"),
            "fast_style": mean(fast_parts, "style"), "slow_content": mean(slow_parts, "content"),
            "slow_style": mean(slow_parts, "style")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*")
    parser.add_argument("--photos", type=int, default=8, help="held-out BSDS500 photos (plus 4 scikit-image photos)")
    parser.add_argument("--steps", type=int, default=200, help="optimisation steps per photo")
    parser.add_argument("--size", type=int, default=256, help="long side of the photos")
    parser.add_argument("--no-reference", dest="reference", action="store_false",
                        help="sheets of the network alone: no per-image optimisation, no table")
    parser.add_argument("--weights", metavar="PATH",
                        help="with one MODEL: measure this checkpoint or .pth against MODEL's stored optimisation")
    parser.add_argument("--sheet", type=Path, metavar="PATH", help="with --weights: write its sheet here")
    args = parser.parse_args()
    torch.manual_seed(0)
    if args.weights:
        if len(args.models) != 1:
            parser.error("--weights takes exactly one MODEL (whose stored optimisation it is measured against)")
        if not args.reference:  # a sheet of the candidate alone, at any size
            if args.sheet is None:
                parser.error("--weights with --no-reference writes only a sheet: give --sheet PATH")
            evaluate(args.models[0], args.photos, args.steps, args.size, reference=False, weights=args.weights,
                     sheet=args.sheet)
            return
        ref = stored_results().get(args.models[0])
        if ref is None or ref.get("size") != args.size or ref.get("photos") != args.photos + 4:
            parser.error(f"no stored optimisation of {args.models[0]} at {args.size} px with {args.photos} photos: "
                         f"run `python benchmarks/quality.py {args.models[0]} --photos {args.photos} "
                         f"--size {args.size}` first")
        row = evaluate(args.models[0], args.photos, args.steps, args.size, weights=args.weights, sheet=args.sheet)
        row.update(content_ratio=round(row["fast_content"] / ref["slow_content"], 3),
                   style_ratio=round(row["fast_style"] / ref["slow_style"], 3), reference=ref.get("command"))
        print(json.dumps(row, indent=2))
        return
    names = args.models or [n for n in available_models() if not n.endswith("-stable")]
    if not args.reference:
        for name in names:
            evaluate(name, args.photos, args.steps, args.size, reference=False)
        return
    fresh = {name: {**evaluate(name, args.photos, args.steps, args.size), "steps": args.steps, "size": args.size,
                    "command": "python " + " ".join(["benchmarks/quality.py"] + sys.argv[1:]),
                    "date": datetime.date.today().isoformat()} for name in names}
    # Models measured in earlier runs keep their rows. Read only now, so that runs of
    # different models side by side (one per core) do not drop each other's rows.
    earlier = stored_results()
    earlier.update(fresh)
    results = [earlier[n] for n in sorted(earlier)]
    rows = ["| model | photos | network content | network style | optimisation steps | optimisation content | "
            "optimisation style | content ratio | style ratio |", "|---|---|---|---|---|---|---|---|---|"]
    rows += [f"| {r['model']} | {r['photos']} | {r['fast_content']:.4f} | {r['fast_style']:.4f} | "
             f"{r.get('steps', '')} | {r['slow_content']:.4f} | {r['slow_style']:.4f} | "
             f"{r['fast_content'] / r['slow_content']:.2f} | {r['fast_style'] / r['slow_style']:.2f} |" for r in results]
    write_section("quality", "\n".join([
        header("Held-out quality (`benchmarks/quality.py`)"),
        "Mean losses over held-out photos at 256 px long side, each model's own loss settings (relative "
        "normalisation: content is the feature MSE over the content features' mean square, style the "
        "weighted sum of per-layer errors of the style statistics — covariance and channel means for the shipped "
        "models — over each target's squared norm), no jitter. "
        "Per-image optimisation: Adam (lr 0.02, jitter 3 px, bf16 where the CPU has it) from the content image for "
        "the number of steps in the table. Ratio: the network's loss over the optimisation's. Sheets: "
        "`examples/sheets/<model>_<size>.jpg`.\n",
        *rows, "", "Each row's run: " + "; ".join(f"{r['model']}: `{r.get('command', '?')}` ({r.get('date', '?')})"
                                                  for r in results) + "."]))
    STORE.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
