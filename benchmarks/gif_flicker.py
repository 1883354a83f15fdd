"""How much of the flicker measured on GIF clips is our GIF encoding, not the network.

Each GIF in ../shared/data/media is stylized by every base model and its ``-stable``
twin twice: written as GIF (a fresh 256-colour palette with Floyd–Steinberg dithering
per frame, as ``videostyle run`` does) and written as H.264 MKV (no palette). The
warping error of each is measured against the original at the same size, written the
same way.

    python benchmarks/gif_flicker.py [MODEL ...] [--max-size 320]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.flicker import MEDIA, frame_count, measure  # noqa: E402
from benchmarks.results import header, write_section  # noqa: E402
from videostyle.devices import cpu_supports_bf16  # noqa: E402
from videostyle.models import available_models, load_model  # noqa: E402
from videostyle.stylize import Stylizer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", help="base models (default: every shipped model with a -stable twin)")
    parser.add_argument("--max-size", type=int, default=320)
    args = parser.parse_args()
    models = available_models()
    names = args.models or [n for n in models if f"{n}-stable" in models]
    half = cpu_supports_bf16()
    clips = [p for p in sorted(MEDIA.glob("*.gif")) if frame_count(p) >= 2]
    rows = ["| model | clip | GIF out: base | stable | stable / base | MKV out: base | stable | stable / base |",
            "|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in names:
            stylizers = {m: Stylizer(load_model(m), "cpu", half=half) for m in (name, f"{name}-stable")}
            for clip in clips:
                cells = []
                for suffix in (".gif", ".mkv"):
                    base, stable = (measure(clip, tmp / f"{model}_{clip.stem}{suffix}", stylizers[model],
                                            args.max_size, None)[0] for model in (name, f"{name}-stable"))
                    cells += [f"{base:.5f}", f"{stable:.5f}", f"{stable / base:.2f}"]
                rows.append(f"| {name} | {clip.name} | " + " | ".join(cells) + " |")
                print(rows[-1], flush=True)
    write_section("gif_flicker", "\n".join([
        header("GIF encoding and flicker (`benchmarks/gif_flicker.py`)"),
        "Temporal warping error of GIF clips stylized by each model, written as GIF (per-frame palette "
        "with Floyd–Steinberg dithering) and as H.264 MKV, each against the original written the same way, "
        f"at {args.max_size} px on the long side.\n", *rows]))


if __name__ == "__main__":
    main()
