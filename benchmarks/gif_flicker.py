"""How much of the flicker measured on GIF clips is our GIF encoding, not the network.

Each GIF in ../shared/data/media is stylized by every base model and its ``-stable``
twin and written three ways: GIF with a fresh palette and Floyd–Steinberg dither per
frame (``--gif-keep-levels 0``, what ``videostyle run`` did before), GIF as
``videostyle run`` writes it now (palette shared while it fits, still pixels keep their
index; :mod:`videostyle.palette`), and H.264 MKV (no palette). The warping error of
each is measured against the original at the same size, written the same way; also the
GIF file sizes.

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
from videostyle.encode import VideoEncoding  # noqa: E402
from videostyle.models import available_models, load_model  # noqa: E402
from videostyle.stylize import Stylizer  # noqa: E402

WAYS = {"GIF, palette per frame": (".gif", VideoEncoding(gif_keep_levels=0)),
        "GIF, default": (".gif", VideoEncoding()),
        "MKV": (".mkv", VideoEncoding())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", help="base models (default: every shipped model with a -stable twin)")
    parser.add_argument("--max-size", type=int, default=320)
    args = parser.parse_args()
    models = available_models()
    names = args.models or [n for n in models if f"{n}-stable" in models]
    half = cpu_supports_bf16()
    clips = [p for p in sorted(MEDIA.glob("*.gif")) if frame_count(p) >= 2]
    rows = ["| model | clip | " + " | ".join(f"{way}: base | stable | stable / base" for way in WAYS)
            + " | GIF KiB per frame / default (base) |",
            "|---|---|" + "---|---|---|" * len(WAYS) + "---|"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in names:
            stylizers = {m: Stylizer(load_model(m), "cpu", half=half) for m in (name, f"{name}-stable")}
            for clip in clips:
                cells, sizes = [], []
                for i, (suffix, encoding) in enumerate(WAYS.values()):
                    errors = []
                    for model in (name, f"{name}-stable"):
                        out = tmp / f"{model}_{clip.stem}_{i}{suffix}"
                        errors.append(measure(clip, out, stylizers[model], args.max_size, None, encoding)[0])
                        if suffix == ".gif" and model == name:
                            sizes.append(out.stat().st_size / 1024)
                    base, stable = errors
                    cells += [f"{base:.5f}", f"{stable:.5f}", f"{stable / base:.2f}"]
                rows.append(f"| {name} | {clip.name} | " + " | ".join(cells) + f" | {sizes[0]:.0f} / {sizes[1]:.0f} |")
                print(rows[-1], flush=True)
    write_section("gif_flicker", "\n".join([
        header("GIF encoding and flicker (`benchmarks/gif_flicker.py`)"),
        "Temporal warping error of the GIF clips stylized by each model, written three ways: GIF with a fresh "
        "palette and Floyd–Steinberg dither per frame (`--gif-keep-levels 0`, the old behaviour), GIF as "
        "`videostyle run` writes it now (`--gif-keep-levels 6`: palette shared while it fits, still pixels keep "
        "their index), and H.264 MKV; each against the original written the same way, "
        f"at {args.max_size} px on the long side.\n", *rows]))


if __name__ == "__main__":
    main()
