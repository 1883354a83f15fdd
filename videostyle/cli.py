"""The ``videostyle`` command: parses and validates arguments, then calls the library.

Only :func:`main` prints errors and chooses exit codes: 0 success, 1 a file failed,
2 a usage error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence

from . import __version__
from .devices import DEVICES
from .errors import VideostyleError
from .palette import DITHER, DITHERS, KEEP_LEVELS

log = logging.getLogger("videostyle")
OUTPUT_FORMATS = ("mp4", "mov", "mkv", "webm", "avi", "gif", "png", "jpg", "webp")


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be zero or more, got {text}")
    return value


def fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars, only warnings and errors")
    p.add_argument("-v", "--verbose", action="store_true", help="log every choice made, and full tracebacks on errors")


def _add_run(sub) -> None:
    p = sub.add_parser("run", help="stylize images, videos, GIFs or folders of them",
                       description="Stylize images, videos, animated GIFs, or folders of them (recursively). "
                       "By default each output goes beside its input as <stem>_<model><ext>; with -o, one input "
                       "goes to that file and several go into that folder, mirroring the input tree. Existing "
                       "outputs are skipped unless --overwrite.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image, video, GIF, or folder")
    p.add_argument("-m", "--model", default="mosaic", help="shipped model name (see `videostyle models`) or a .pth path (default: mosaic)")
    p.add_argument("-o", "--output", help="output file (one input) or folder (several inputs)")
    p.add_argument("-f", "--format", choices=OUTPUT_FORMATS, dest="output_format",
                   help="output extension, e.g. mp4 to turn GIFs into videos (default: the input's)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--device", choices=DEVICES, default="auto", help="where the network runs (default: auto)")
    p.add_argument("--batch-size", type=positive_int,
                   help="frames per network call (default: 1 on CPUs, where it is fastest; 8 on GPUs)")
    p.add_argument("--half", action="store_true", help="bf16/fp16 inference where the device has it natively")
    p.add_argument("--max-size", type=positive_int, metavar="PX",
                   help="downscale so the long side is at most PX pixels (the output has that size)")
    p.add_argument("--codec", help="video encoder, e.g. libx264, libx265, libvpx-vp9, libsvtav1 (default: by container)")
    p.add_argument("--crf", type=int, help="constant-rate-factor quality, lower is better (default: 18 x264, 30 VP9)")
    p.add_argument("--preset", help="encoder preset, e.g. slow (x264/x265)")
    p.add_argument("--encoder-threads", type=positive_int, metavar="N",
                   help="cap the video encoder's threads (default: the encoder's choice)")
    p.add_argument("--stabilize", nargs="?", const=0.5, type=positive_float, metavar="STRENGTH",
                   help="blend each frame with the flow-warped previous output where visible, to cut flicker "
                   "(STRENGTH 0..1, default 0.5)")
    p.add_argument("--contrast-ramp", type=non_negative_float, metavar="STD",
                   help="fade the output of near-flat frames (grey-level standard deviation below STD, 0-255) "
                   "toward the network's flat-frame colour, so fades from black do not flash with painted noise; "
                   "0 turns it off (default: what the model card records: 4 for the -stable models, else off)")
    p.add_argument("--gif-keep-levels", type=int, default=KEEP_LEVELS, metavar="N",
                   help="GIF output: frames share a palette while it fits, and a pixel keeps its colour while the "
                   "frame changes it by at most N levels (0-255), so still areas do not shimmer; 0 = a fresh "
                   f"palette and dither every frame (default: {KEEP_LEVELS})")
    p.add_argument("--gif-dither", choices=DITHERS, default=DITHER,
                   help="GIF output: where re-indexed pixels are Floyd-Steinberg dithered: adaptive = only where "
                   "the picture is smooth (gradients do not band; texture does not crawl when it moves), "
                   f"floyd-steinberg = everywhere, none = nowhere (default: {DITHER})")
    _add_common(p)


def _add_models(sub) -> None:
    p = sub.add_parser("models", help="list the shipped models")
    _add_common(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videostyle", description="Fast neural style transfer for videos, GIFs and images.")
    parser.add_argument("--version", action="version", version=f"videostyle {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run(sub)
    _add_models(sub)
    from . import cli_networks
    cli_networks.add_parsers(sub, _add_common)
    return parser


class _Bars:
    """tqdm bars: one per file (frames) and one overall (files); nothing when quiet."""

    def __init__(self, total_files: int, enabled: bool):
        self.enabled = enabled
        self.total_files = total_files
        self.overall = None
        self.file_bar = None
        if enabled:
            from tqdm import tqdm
            self._tqdm = tqdm
            if total_files > 1:
                self.overall = tqdm(total=total_files, unit="file", position=0, desc="overall")

    def start(self, index: int, job) -> None:
        if not self.enabled:
            return
        self._close_file()
        self.file_bar = self._tqdm(unit="frame", desc=job.input.name[:40], position=1 if self.overall else 0,
                                   leave=self.overall is None)
        if self.overall:
            self.overall.n = index
            self.overall.refresh()

    def update(self, progress) -> None:
        if self.file_bar is None:
            return
        if progress.frames_total and self.file_bar.total != progress.frames_total:
            self.file_bar.total = progress.frames_total
        self.file_bar.n = progress.frames_done
        self.file_bar.refresh()

    def _close_file(self) -> None:
        if self.file_bar is not None:
            self.file_bar.close()
            self.file_bar = None

    def close(self) -> None:
        self._close_file()
        if self.overall is not None:
            self.overall.n = self.total_files
            self.overall.close()


def _cmd_run(args, parser) -> int:
    from .batch import RunConfig, plan_jobs, run
    from .models import resolve_model

    if args.crf is not None and not 0 <= args.crf <= 63:
        parser.error(f"--crf must be between 0 and 63, got {args.crf}")
    if args.stabilize is not None and args.stabilize > 1:
        parser.error(f"--stabilize STRENGTH must be at most 1, got {args.stabilize}")
    if not 0 <= args.gif_keep_levels <= 255:
        parser.error(f"--gif-keep-levels must be between 0 and 255, got {args.gif_keep_levels}")
    config = RunConfig(inputs=tuple(args.inputs), model=args.model, output=args.output,
                       output_format=args.output_format, overwrite=args.overwrite, device=args.device,
                       batch_size=args.batch_size, half=args.half, max_size=args.max_size, codec=args.codec,
                       crf=args.crf, preset=args.preset, stabilize=args.stabilize,
                       gif_keep_levels=args.gif_keep_levels, gif_dither=args.gif_dither,
                       contrast_ramp=args.contrast_ramp,
                       encoder_threads=args.encoder_threads)
    name, _ = resolve_model(config.model)
    jobs = plan_jobs(config.inputs, config.output, name, config.output_format)
    if not jobs:
        raise VideostyleError("no images, GIFs or videos found in " + ", ".join(config.inputs))
    bars = _Bars(len(jobs), enabled=not args.quiet and sys.stderr.isatty())
    try:
        summary = run(config, progress=bars.update, on_start=bars.start, jobs=jobs)
    finally:
        bars.close()
    single = len(jobs) == 1
    for path, reason in summary.failed:
        print(f"error: {path}: {reason}", file=sys.stderr)
    for path, reason in summary.skipped:
        print(f"skipped: {path}: {reason}", file=sys.stderr)
    if not args.quiet:
        for result in summary.converted:
            fps = result.frames / result.seconds if result.seconds else 0.0
            print(f"{result.input} -> {result.output} ({result.frames} frames, {result.seconds:.1f} s, {fps:.2f} frames/s)")
        if not single:
            print(f"{len(summary.converted)} converted, {len(summary.skipped)} skipped, {len(summary.failed)} failed")
    return 0 if summary.ok else 1


def _cmd_models(args, parser) -> int:
    from .models import available_models
    models = available_models()
    if not models:
        print("no shipped models are installed")
        return 1
    for name, info in models.items():
        style = info.card.get("style", {}).get("image", "")
        print(f"{name:24s} {style:34s} {info.path}")
    return 0


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.levelname = record.levelname.lower()
        return super().format(record)


def _configure_logging(verbose: bool) -> None:
    """videostyle's own log lines on stderr: warnings always, every choice with --verbose."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter("%(levelname)s: %(message)s"))
    logger = logging.getLogger("videostyle")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    commands = {"run": _cmd_run, "models": _cmd_models}
    from . import cli_networks
    commands.update(cli_networks.COMMANDS)
    try:
        return commands[args.command](args, parser)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except VideostyleError as error:
        if args.verbose:
            log.exception("details")
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
