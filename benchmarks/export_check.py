"""Every shipped model through ``videostyle export`` and the ONNX Runtime backend.

For each shipped model: export to ONNX and to TorchScript (each file checked against
videostyle's torch output on an odd-sized image, as ``export`` does; the largest
difference in grey levels is recorded), then the pipeline's own frames (the first frames
of a real clip, decoded as ``videostyle run`` decodes it, fp32) through the torch and
the ONNX Runtime backends: the largest difference of the 8-bit outputs and the share of
pixels that differ at all. Writes the ``export`` section of RESULTS.md.

    python benchmarks/export_check.py [MODEL ...] [--clip PATH]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.results import header, write_section  # noqa: E402
from videostyle.media.decode import VideoSource  # noqa: E402
from videostyle.network.export import export_model  # noqa: E402
from videostyle.network.models import available_models, load_model  # noqa: E402
from videostyle.network.stylize import Stylizer  # noqa: E402

CLIP = Path(__file__).resolve().parents[2] / "shared" / "data" / "media" / "bikes.mp4"


def pipeline_frames(clip: Path, max_size: int, count: int) -> list[np.ndarray]:
    with VideoSource(clip, max_size=max_size) as source:
        return [frame.rgb for frame, _ in zip(source.frames(), range(count))]


def check(name: str, frames: list[np.ndarray], tmp: Path) -> str:
    model = load_model(name)
    onnx = export_model(model, tmp / f"{name}.onnx", "onnx")
    script = export_model(model, tmp / f"{name}.pt", "torchscript")
    torch_out = Stylizer(load_model(name), "cpu", half=False, backend="torch")(frames)
    ort_out = Stylizer(load_model(name), "cpu", half=False, backend="onnxruntime")(frames)
    diff = [np.abs(a.astype(np.int16) - b.astype(np.int16)) for a, b in zip(torch_out, ort_out)]
    largest = max(int(d.max()) for d in diff)
    share = float(np.mean([np.count_nonzero(d) / d.size for d in diff]))
    row = f"| {name} | {onnx:.4f} | {script:.4f} | {len(frames)} | {largest} | {100 * share:.3f} % |"
    print(row, flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", help="default: every shipped model")
    parser.add_argument("--clip", type=Path, default=CLIP)
    parser.add_argument("--max-size", type=int, default=480)
    parser.add_argument("--frames", type=int, default=48, help="the clip's first N frames")
    args = parser.parse_args()
    names = args.models or sorted(available_models())
    frames = pipeline_frames(args.clip, args.max_size, args.frames)
    rows = ["| model | ONNX export check: largest difference (grey levels) | TorchScript export check | "
            "pipeline frames | ONNX Runtime vs torch: largest difference of 8-bit outputs | pixels that differ |",
            "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        rows += [check(name, frames, Path(tmp)) for name in names]
    h, w = frames[0].shape[:2]
    write_section("export", "\n".join([
        header("Export and ONNX Runtime against torch (`benchmarks/export_check.py`)"),
        "Export checks: the exported file against videostyle's torch output on an odd-sized image, before "
        "rounding (`videostyle export` refuses a file over 1 grey level). Pipeline frames: the first "
        f"{len(frames)} frames of `{args.clip.name}` decoded at {w}x{h} as `videostyle run --max-size {args.max_size}` decodes it, "
        "stylized in fp32 by both backends; differences of the 8-bit frames they return.\n", *rows]))


if __name__ == "__main__":
    main()
