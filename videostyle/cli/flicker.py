"""``videostyle flicker``: measure the temporal warping error of stylized videos."""

from __future__ import annotations

import json

from .args import add_common


def add_parser(sub) -> None:
    p = sub.add_parser("flicker", help="measure flicker: temporal warping error of a stylized video",
                       description="Temporal warping error (Lai et al. 2018) of STYLIZED along the optical flow "
                       "of ORIGINAL (OpenCV DIS flow, occlusion mask by forward-backward consistency and motion "
                       "boundaries, and where ORIGINAL is transparent or its alpha changes along the flow), "
                       "RGB in [0, 1]; also the same number for ORIGINAL itself (the floor) and their ratio. "
                       "Frames are paired by presentation time; scene cuts are counted, not measured.")
    p.add_argument("original")
    p.add_argument("stylized", nargs="+", help="one or more stylized versions of ORIGINAL (e.g. base and stable)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per stylized file (one line each), with per-frame values")
    p.add_argument("--plot", metavar="PNG", help="write the per-frame error over time of every file as one PNG")
    add_common(p)


def main(args, parser) -> int:
    from ..temporal.flicker import plot, warping_error

    results = [warping_error(args.original, stylized) for stylized in args.stylized]
    if args.plot:
        plot(results, args.plot)
    for result in results:
        if args.json:
            print(json.dumps(result.to_dict()))
        else:
            name = f"{result.stylized}: " if len(results) > 1 else ""
            print(f"{name}warping error {result.warping_error:.6f}  floor {result.floor:.6f}  "
                  f"ratio {result.ratio:.2f}  ({result.frames} frames"
                  + (f"; {result.cuts} scene cut{'s' * (result.cuts != 1)} not measured)" if result.cuts else ")"))
    return 0
