"""How much of the flicker measured on GIF clips is our GIF encoding, not the network.

Each GIF in ../shared/data/media is stylized by every base model and its ``-stable``
twin and written four ways: GIF with a fresh palette and Floyd–Steinberg dither every
frame (``--gif-keep-levels 0 --gif-dither floyd-steinberg``), GIF with the palette shared
while it fits and still pixels keeping their index but Floyd–Steinberg everywhere
(``--gif-dither floyd-steinberg``), GIF as ``videostyle run`` writes it by default (also
dithering only smooth areas; :mod:`videostyle.palette`), and H.264 MKV (no palette). The
warping error of each is measured against the original at the same size, written the
same way; also the GIF file sizes, the quantisation error (mean squared difference, RGB
0-255, between the frames the network made and the GIF's opaque pixels) and the GIF
writing time.

    python benchmarks/gif_flicker.py [MODEL ...] [--max-size 320]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.flicker import MEDIA, frame_count, measure  # noqa: E402
from benchmarks.results import header, write_section  # noqa: E402
from videostyle.media.decode import VideoSource  # noqa: E402
from videostyle.media.encode import VideoEncoding  # noqa: E402
from videostyle.media.images import flatten_alpha  # noqa: E402
from videostyle.media.palette import StableQuantizer  # noqa: E402
from videostyle.network.devices import cpu_supports_bf16  # noqa: E402
from videostyle.network.models import available_models, load_model  # noqa: E402
from videostyle.network.stylize import Stylizer  # noqa: E402

WAYS = {"GIF, palette and dither per frame": (".gif", VideoEncoding(gif_keep_levels=0, gif_dither="floyd-steinberg")),
        "GIF, Floyd–Steinberg everywhere": (".gif", VideoEncoding(gif_dither="floyd-steinberg")),
        "GIF, default": (".gif", VideoEncoding()),
        "MKV": (".mkv", VideoEncoding())}


def stylized_frames(clip: Path, stylizer: Stylizer, max_size: int) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Each frame the network makes of ``clip``, with the input's transparent pixels (or None)."""
    with VideoSource(clip, max_size=max_size) as source:
        items = list(source.frames())
    return [(stylizer([flatten_alpha(item.rgb, item.alpha)])[0], item.alpha < 128 if item.alpha is not None else None)
            for item in items]


def quantisation(frames: list[tuple[np.ndarray, np.ndarray | None]], encoding: VideoEncoding) -> tuple[float, float]:
    """(mean squared error, RGB 0-255, of the GIF's opaque pixels against the frames the
    network made; milliseconds per frame the quantiser took) for GIF output written with
    ``encoding``."""
    quantizer = StableQuantizer.for_keep_levels(encoding.gif_keep_levels, encoding.gif_dither)
    errors, seconds = [], 0.0
    for rgb, transparent in frames:
        start = time.perf_counter()
        image = quantizer(rgb, transparent)
        seconds += time.perf_counter() - start
        opaque = np.ones(rgb.shape[:2], bool) if transparent is None else ~transparent
        drawn = np.asarray(image.convert("RGB"), dtype=np.float64)
        errors.append(float(((drawn - rgb) ** 2)[opaque].mean()))
    return float(np.mean(errors)), 1000 * seconds / len(frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", help="base models (default: every shipped model with a -stable twin)")
    parser.add_argument("--max-size", type=int, default=320)
    args = parser.parse_args()
    models = available_models()
    names = args.models or [n for n in models if f"{n}-stable" in models]
    half = cpu_supports_bf16()
    clips = [p for p in sorted(MEDIA.glob("*.gif")) if frame_count(p) >= 2]
    gifs = " / ".join(str(i + 1) for i, (suffix, _) in enumerate(WAYS.values()) if suffix == ".gif")
    rows = ["| model | clip | " + " | ".join(f"({i + 1}) {way}: base | stable | stable / base" for i, way in enumerate(WAYS))
            + f" | GIF KiB {gifs} (base) | quantisation error {gifs} (base) | quantiser ms per frame {gifs} (base) |",
            "|---|---|" + "---|---|---|" * len(WAYS) + "---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in names:
            stylizers = {m: Stylizer(load_model(m), "cpu", half=half) for m in (name, f"{name}-stable")}
            for clip in clips:
                cells, sizes = [], []
                frames = stylized_frames(clip, stylizers[name], args.max_size)  # once for every GIF way
                quantised = [quantisation(frames, encoding) for suffix, encoding in WAYS.values() if suffix == ".gif"]
                for i, (suffix, encoding) in enumerate(WAYS.values()):
                    errors = []
                    for model in (name, f"{name}-stable"):
                        out = tmp / f"{model}_{clip.stem}_{i}{suffix}"
                        errors.append(measure(clip, out, stylizers[model], args.max_size, None, encoding)[0])
                        if suffix == ".gif" and model == name:
                            sizes.append(out.stat().st_size / 1024)
                    base, stable = errors
                    cells += [f"{base:.5f}", f"{stable:.5f}", f"{stable / base:.2f}"]
                rows.append(f"| {name} | {clip.name} | " + " | ".join(cells) + " | " + " / ".join(f"{s:.0f}" for s in sizes)
                            + " | " + " / ".join(f"{e:.1f}" for e, _ in quantised)
                            + " | " + " / ".join(f"{ms:.0f}" for _, ms in quantised) + " |")
                print(rows[-1], flush=True)
    write_section("gif_flicker", "\n".join([
        header("GIF encoding and flicker (`benchmarks/gif_flicker.py`)"),
        "Temporal warping error of the GIF clips stylized by each model, written four ways: (1) GIF with a fresh "
        "palette and Floyd–Steinberg dither every frame (`--gif-keep-levels 0 --gif-dither floyd-steinberg`), "
        "(2) GIF with the palette shared while it fits and still pixels keeping their index (`--gif-keep-levels "
        "6`) but Floyd–Steinberg everywhere (`--gif-dither floyd-steinberg`), (3) GIF as `videostyle run` writes "
        "it by default (also dithering only smooth areas: `--gif-dither adaptive`), and (4) H.264 MKV; each "
        f"against the original written the same way, at {args.max_size} px on the long side. Every GIF palette "
        "is median cut refined by 4 k-means iterations. Also, for the base model: the GIF's size, its "
        "quantisation error (mean squared difference, RGB 0-255, of its opaque pixels from the frames the network "
        "made) and the quantiser's time per frame.\n", *rows]))


if __name__ == "__main__":
    main()
