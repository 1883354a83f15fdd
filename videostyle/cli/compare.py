"""``videostyle compare``: several models side by side on the same picture or clip."""

from __future__ import annotations

from pathlib import Path

from .args import add_common, add_device, positive_int, seconds


def add_parser(sub) -> None:
    p = sub.add_parser("compare", help="several models side by side on the same picture or clip",
                       description="Stylize INPUT with each model and write them side by side after the input, "
                       "named: an image for an image, a short video (with its sound) for a video or GIF.")
    p.add_argument("input", metavar="INPUT")
    p.add_argument("--models", required=True, metavar="A,B,…", help="models to compare (names or .pth paths)")
    p.add_argument("-o", "--output", help="output file (default: <stem>_compare.png, or .mp4 for videos and GIFs)")
    p.add_argument("--max-size", type=positive_int, default=480, metavar="PX",
                   help="long side of each picture (default: %(default)s)")
    p.add_argument("--start", type=seconds, metavar="T", help="videos: start at T")
    p.add_argument("--duration", type=seconds, default=3.0, metavar="D", help="videos: this long (default: 3 s)")
    add_device(p, help="where the networks run (default: auto)")
    add_common(p)


def main(args, parser) -> int:
    from ..media.kinds import media_kind
    from ..pipeline.compare import compare

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models:
        parser.error("--models needs at least one model")
    src = Path(args.input)
    out = args.output or str(src.with_name(src.stem + "_compare" + (".png" if media_kind(src) == "image" else ".mp4")))
    result = compare(src, models, out, max_size=args.max_size, device=args.device, start_s=args.start,
                     duration_s=args.duration)
    if not args.quiet:
        print(f"{result.input} -> {result.output} ({len(models)} models, {result.frames} frames, "
              f"{result.seconds:.1f} s)")
    return 0
