"""Train the shipped styles on a lent GPU in one prepared call, within a time budget.

The device tool carries the repository only (64 MiB in all), not ``../shared``. So,
here, once per session:

    echo /.gpu/ >> .git/info/exclude
    python benchmarks/gpu_train.py pack          # BSDS500 re-encoded (JPEG q70, same names) + style images: .gpu/

and then one device call, naming ``.gpu`` in ``carry``:

    python benchmarks/gpu_train.py train --minutes 6 --twin-minutes 2 --out $OUT [--styles starry_night ...]

Every style trains at once on the one GPU, a process each, with the recipe
(``videostyle train`` defaults for ``--loss-net efficientnet-lite0``: 256-px crops,
content weight 20, temporal weight 200), batch 16, from its shipped weights. Steps
are whatever fits: each process checkpoints every 250 steps and is stopped at the
budget, and its model is written from its last checkpoint (``--resume CKPT
--iterations STEP``, which writes the card with that step count). Then each new base's
``-stable`` twin is fine-tuned with ``videostyle finetune``'s defaults, the one-command
recipe, in the ``--twin-minutes`` left (whole, or not at all). Each style's weights and
cards, losses.csv, held-out curve and last sample grid come back as one
``$OUT/<style>.tar.gz`` (the device tool returns at most 8 files).

``train --smoke`` does the same on the CPU for a minute at toy sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
PACK = ROOT / ".gpu"
STYLES = ("mosaic", "starry_night", "great_wave", "the_scream")


def pack(args) -> None:
    from PIL import Image
    photos = PACK / "bsds500"
    photos.mkdir(parents=True, exist_ok=True)
    for path in sorted((SHARED / "content" / "bsds500").glob("*.jpg")):
        Image.open(path).convert("RGB").save(photos / path.name, quality=70)
    styles = PACK / "styles"
    styles.mkdir(exist_ok=True)
    for name in STYLES:
        image = json.loads((ROOT / "models" / f"{name}.json").read_text())["style"]["image"]
        (styles / image).write_bytes((SHARED / "styles" / image).read_bytes())
    size = sum(p.stat().st_size for p in PACK.rglob("*") if p.is_file())
    print(f"{PACK}: {size / 2**20:.1f} MiB; carry it with the device call (carry: ['.gpu'])")


def command(name: str, run: Path, args, resume: Path | None = None, steps: int | None = None) -> list[str]:
    card = json.loads((ROOT / "models" / f"{name}.json").read_text())
    words = [sys.executable, "-m", "videostyle", "train", "--style", str(PACK / "styles" / card["style"]["image"]),
             "--data", str(PACK / "bsds500"), "--out", str(run / f"{name}.pth"), "--init-model", f"models/{name}.pth",
             "--style-licence", card["style"]["licence"], "--loss-net", "efficientnet-lite0",
             "--run-dir", str(run / f"{name}_run"), "--checkpoint-every", str(args.checkpoint_every),
             "--eval-every", str(args.checkpoint_every), "--sample-every", str(args.checkpoint_every),
             "--batch-size", str(args.batch_size), "--iterations", str(steps or 100_000), "-q"]
    if args.smoke:
        words += ["--image-size", "64", "--photo-size", "64,96", "--device", "cpu"]
    if resume:
        words += ["--resume", str(resume)]
    return words


def twin_command(name: str, run: Path, args) -> list[str]:
    """``videostyle finetune`` with its defaults (the one-command twin recipe) from the new base."""
    words = [sys.executable, "-m", "videostyle", "finetune", "--model", str(run / f"{name}.pth"),
             "--data", str(PACK / "bsds500"), "--out", str(run / f"{name}-stable.pth"),
             "--run-dir", str(run / f"{name}-stable_run"), "-q"]
    if args.smoke:
        words += ["--image-size", "64", "--photo-size", "64,96", "--device", "cpu", "--iterations", "6",
                  "--checkpoint-every", "3", "--sample-every", "3"]
    return words


def last_checkpoint(run: Path, name: str) -> Path | None:
    found = sorted((run / f"{name}_run" / "checkpoints").glob("step_*.pt"))
    return found[-1] if found else None


def train(args) -> None:
    out = Path(args.out or os.environ.get("OUT", "gpu_train_out"))
    out.mkdir(parents=True, exist_ok=True)
    run = Path("/tmp/gpu_train")
    run.mkdir(parents=True, exist_ok=True)
    if not (PACK / "bsds500").is_dir():
        sys.exit(f"{PACK} is missing: run `python benchmarks/gpu_train.py pack` here and carry .gpu")
    began = time.perf_counter()
    run_until({name: subprocess.Popen(command(name, run, args), cwd=ROOT) for name in args.styles},
              began + 60 * args.minutes)
    for name in args.styles:
        checkpoint = last_checkpoint(run, name)
        if checkpoint is None:
            print(f"{name}: no checkpoint within the budget", flush=True)
            continue
        step = int(checkpoint.stem.split("_")[1])
        # the model at its last checkpoint, with a card that says so
        subprocess.run(command(name, run, args, resume=checkpoint, steps=step), cwd=ROOT, check=True)
    if args.twin_minutes:
        # each new base's -stable twin, whole or not at all: a twin cut short is not the recipe its card names
        bases = [name for name in args.styles if (run / f"{name}.pth").exists()]
        twins = {name: subprocess.Popen(twin_command(name, run, args), cwd=ROOT) for name in bases}
        run_until(twins, time.perf_counter() + 60 * args.twin_minutes)
        for name, p in twins.items():
            print(f"{name}-stable: {'written' if p.returncode == 0 else f'not finished in time (exit {p.returncode})'}")
    for name in args.styles:
        if not (run / f"{name}.pth").exists():
            continue
        with tarfile.open(out / f"{name}.tar.gz", "w:gz") as tar:
            for path in (run / f"{name}.pth", run / f"{name}.json", run / f"{name}.md", run / f"{name}-stable.pth",
                         run / f"{name}-stable.json", run / f"{name}-stable.md"):
                if path.exists():
                    tar.add(path, arcname=path.name)
            folder = run / f"{name}_run"
            for path in [folder / "losses.csv", folder / "held_out_curve.png", *sorted(folder.glob("samples/*.png"))[-1:]]:
                if path.exists():
                    tar.add(path, arcname=f"{name}_run/{path.relative_to(folder)}")
        print(f"{name}: {out / (name + '.tar.gz')}", flush=True)
    print(f"whole script: {time.perf_counter() - began:.0f} s")


def run_until(procs: dict[str, subprocess.Popen], deadline: float) -> None:
    """Wait for ``procs``; at ``deadline`` stop the rest as Ctrl-C would (videostyle stops
    cleanly, its last checkpoint kept)."""
    while time.perf_counter() < deadline and any(p.poll() is None for p in procs.values()):
        time.sleep(5)
    for p in procs.values():
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    for p in procs.values():
        p.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("pack", help="re-encode the photos and copy the style images into .gpu/")
    p = sub.add_parser("train", help="train every style at once within --minutes")
    p.add_argument("--styles", nargs="+", default=list(STYLES), choices=STYLES)
    p.add_argument("--minutes", type=float, default=6.0, help="for the bases")
    p.add_argument("--twin-minutes", type=float, default=2.0,
                   help="then for each base's -stable twin with finetune's defaults (0: none)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--checkpoint-every", type=int, default=250)
    p.add_argument("--out", help="default: $OUT")
    p.add_argument("--smoke", action="store_true", help="on the CPU, toy sizes")
    args = parser.parse_args()
    pack(args) if args.what == "pack" else train(args)


if __name__ == "__main__":
    main()
