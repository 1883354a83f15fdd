"""``videostyle export``: a model as an ONNX or TorchScript file, to run without videostyle."""

from __future__ import annotations

from pathlib import Path

from .args import add_common


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="write a model as ONNX or TorchScript, to run without videostyle",
                       description="Write MODEL as a graph that takes float32 RGB on the 0-255 scale, NCHW, any "
                       "batch and any height and width of at least 16 px, and returns the stylized picture in "
                       "the same layout, clamped to 0-255 (padding and cropping inside the graph). The file is "
                       "checked against videostyle's own output on an odd-sized image first.")
    p.add_argument("model", help="shipped model name or .pth path")
    p.add_argument("--format", choices=("onnx", "torchscript"), default="onnx", dest="fmt")
    p.add_argument("-o", "--output", help="output file (default: <model>.onnx or <model>.pt)")
    add_common(p)


def main(args, parser) -> int:
    from ..network.export import export_model
    from ..network.models import load_model, resolve_model

    name, _ = resolve_model(args.model)
    out = Path(args.output or f"{name}.{'onnx' if args.fmt == 'onnx' else 'pt'}")
    difference = export_model(load_model(args.model), out, args.fmt)
    if not args.quiet:
        print(f"wrote {out} ({args.fmt}); largest difference to videostyle's output on a check image: "
              f"{difference:.4f} grey levels")
    return 0
