"""``videostyle run``: stylize images, videos, GIFs or folders of them."""

from __future__ import annotations

import sys

from ..config import BACKENDS, GIF_DITHERS, OUTPUT_FORMATS, PRESERVE_COLOR, RunConfig, default
from ..errors import VideostyleError
from .args import add_common, add_device, fraction, non_negative_float, positive_float, positive_int, seconds
from .progress import FileBars, bars_enabled


def add_parser(sub) -> None:
    p = sub.add_parser("run", help="stylize images, videos, GIFs or folders of them",
                       description="Stylize images, videos, animated GIFs, or folders of them (recursively). "
                       "By default each output goes beside its input as <stem>_<model><ext>; with -o, one input "
                       "goes to that file and several go into that folder, mirroring the input tree. Existing "
                       "outputs are skipped unless --overwrite.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image, video, GIF, or folder")
    p.add_argument("-m", "--model", default=default(RunConfig, "model"),
                   help="shipped model name (see `videostyle models`) or a .pth path (default: %(default)s)")
    p.add_argument("-o", "--output", help="output file (one input) or folder (several inputs)")
    p.add_argument("-f", "--format", choices=OUTPUT_FORMATS, dest="output_format",
                   help="output extension, e.g. mp4 to turn GIFs into videos (default: the input's)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    add_device(p, help="where the network runs (default: auto)")
    p.add_argument("--batch-size", type=positive_int,
                   help="frames per network call (default: 1 on CPUs, where it is fastest; 8 on GPUs)")
    precision = p.add_mutually_exclusive_group()
    precision.add_argument("--half", action="store_const", const=True, dest="half",
                           help="insist on bf16/fp16 inference (the default where the device has it natively: CUDA GPUs, "
                           "CPUs with AVX512-BF16 or AMX)")
    precision.add_argument("--fp32", action="store_const", const=False, dest="half",
                           help="fp32 inference (the default on other devices)")
    p.add_argument("--backend", choices=BACKENDS, default=default(RunConfig, "backend"),
                   help="torch, or onnxruntime for fp32 on the CPU (pip install 'videostyle[onnx]'); auto: ONNX "
                   "Runtime there when installed (default: %(default)s)")
    p.add_argument("--compile", action="store_true",
                   help="run the network through torch.compile (torch backend): twice the bf16 frames/s on a CPU "
                   "with AMX after about 20 s of compiling on the first frame; needs a C++ compiler "
                   "(benchmarks/RESULTS.md)")
    p.add_argument("--max-size", type=positive_int, metavar="PX",
                   help="downscale so the long side is at most PX pixels (the output has that size)")
    p.add_argument("--max-pixels", type=positive_int, metavar="N",
                   help="the largest frame, in pixels, to decode or stylize (default: decode up to 120 million, "
                   "stylize what the device's memory holds; a larger frame is refused with its size)")
    p.add_argument("--keep-going", action="store_true",
                   help="of a damaged or truncated video, stylize the frames that decode and warn what was lost "
                   "(default: fail, saying how many frames could be read)")
    look = p.add_argument_group("the look")
    look.add_argument("--strength", type=fraction, default=default(RunConfig, "strength"), metavar="S",
                      help="blend the stylized picture with the input: 0 gives the input, 1 the full style "
                      "(default: %(default)s)")
    look.add_argument("--preserve-color", nargs="?", const="luma", choices=PRESERVE_COLOR, metavar="HOW",
                      help="keep the input's colours, take the style's light and dark (luma; 'histogram' also "
                      "keeps the input's brightness and contrast)")
    look.add_argument("--stability", type=fraction, metavar="S",
                      help="for a model with a -stable twin: 0 is the model, 1 its twin, between them a blend of "
                      "their weights (more style or less flicker)")
    look.add_argument("--style-scale", type=positive_float, default=default(RunConfig, "style_scale"), metavar="F",
                      help="run the network on the frame resized by F and resize back: F 0.5 paints strokes twice "
                      "as large, 2 half as large, whatever the output size (default: %(default)s)")
    look.add_argument("--tile", type=positive_int, metavar="PX",
                      help="run the network in tiles of PX pixels (same result, less memory; default: only when a "
                      "frame would not fit in the device's memory)")
    preview = p.add_argument_group("preview a part")
    preview.add_argument("--start", type=seconds, metavar="T", help="stylize from T (seconds or [HH:]MM:SS)")
    preview.add_argument("--duration", type=seconds, metavar="D",
                         help="stylize D seconds; the part starts at 0 in the output, with its sound")
    p.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="convert the files as tasks on a Ray cluster (ADDRESS, e.g. ray://head:10001; none: a local "
                   "Ray instance), a GPU per task where it has GPUs; pip install 'videostyle[ray]'")
    p.add_argument("--codec", help="video encoder, e.g. libx264, libx265, libvpx-vp9, libsvtav1 (default: by container)")
    p.add_argument("--crf", type=int, help="constant-rate-factor quality, lower is better (default: 18 x264, 30 VP9)")
    p.add_argument("--preset", help="encoder preset, e.g. slow (x264/x265)")
    p.add_argument("--encoder-threads", type=positive_int, metavar="N",
                   help="cap the video encoder's threads (default: the encoder's choice)")
    p.add_argument("--stabilize", nargs="?", const=0.5, type=positive_float, metavar="STRENGTH",
                   help="blend each frame with the flow-warped previous output where visible, to cut flicker; "
                   "starts again at scene cuts (STRENGTH 0..1, default 0.5)")
    p.add_argument("--contrast-ramp", type=non_negative_float, metavar="STD",
                   help="fade the output of near-flat frames (grey-level standard deviation below STD, 0-255) "
                   "toward the network's flat-frame colour, so fades from black do not flash with painted noise; "
                   "0 turns it off (default: what the model card records: 4 for the -stable models, else off)")
    keep = default(RunConfig, "gif_keep_levels")
    p.add_argument("--gif-keep-levels", type=int, default=keep, metavar="N",
                   help="GIF output: frames share a palette while it fits, and a pixel keeps its colour while the "
                   "frame changes it by at most N levels (0-255), so still areas do not shimmer; 0 = a fresh "
                   f"palette and dither every frame (default: {keep})")
    p.add_argument("--gif-dither", choices=GIF_DITHERS, default=default(RunConfig, "gif_dither"),
                   help="GIF output: where re-indexed pixels are Floyd-Steinberg dithered: adaptive = only where "
                   "the picture is smooth (gradients do not band; texture does not crawl when it moves), "
                   "floyd-steinberg = everywhere, none = nowhere (default: %(default)s)")
    add_common(p)


def main(args, parser) -> int:
    # the library loads torch and PyAV: imported when the command runs, not for --help
    from ..network.models import resolve_model
    from ..pipeline.jobs import run
    from ..pipeline.plan import plan_jobs

    if args.crf is not None and not 0 <= args.crf <= 63:
        parser.error(f"--crf must be between 0 and 63, got {args.crf}")
    if args.stabilize is not None and args.stabilize > 1:
        parser.error(f"--stabilize STRENGTH must be at most 1, got {args.stabilize}")
    if args.duration is not None and args.duration <= 0:
        parser.error(f"--duration must be positive, got {args.duration}")
    if args.tile is not None and args.tile < 64:
        parser.error(f"--tile must be at least 64 px, got {args.tile}")
    if not 0 <= args.gif_keep_levels <= 255:
        parser.error(f"--gif-keep-levels must be between 0 and 255, got {args.gif_keep_levels}")
    config = RunConfig(inputs=tuple(args.inputs), model=args.model, output=args.output,
                       output_format=args.output_format, overwrite=args.overwrite, device=args.device,
                       batch_size=args.batch_size, half=args.half, backend=args.backend, compile=args.compile,
                       max_size=args.max_size,
                       max_pixels=args.max_pixels, keep_going=args.keep_going, codec=args.codec,
                       crf=args.crf, preset=args.preset, stabilize=args.stabilize,
                       gif_keep_levels=args.gif_keep_levels, gif_dither=args.gif_dither,
                       contrast_ramp=args.contrast_ramp, encoder_threads=args.encoder_threads,
                       strength=args.strength, preserve_color=args.preserve_color, stability=args.stability,
                       style_scale=args.style_scale, tile=args.tile, start_s=args.start, duration_s=args.duration)
    name, _ = resolve_model(config.model)
    plan = plan_jobs(config.inputs, config.output, name, config.output_format)
    if not plan.jobs and not plan.unreadable:
        raise VideostyleError("no images, GIFs or videos found in " + ", ".join(config.inputs))
    if args.ray is not None:
        from ..pipeline.fleet import run_on_ray

        bars = FileBars(len(plan.jobs), enabled=bars_enabled(args))
        try:
            summary = run_on_ray(config, plan, args.ray or None, on_done=lambda job, result: bars.done_one())
        finally:
            bars.close()
    else:
        bars = FileBars(len(plan.jobs), enabled=bars_enabled(args))
        try:
            summary = run(config, progress=bars.update, on_start=bars.start, plan=plan)
        finally:
            bars.close()
    for path, reason in summary.failed:
        print(f"error: {path}: {reason}", file=sys.stderr)
    for path, reason in summary.skipped:
        print(f"skipped: {path}: {reason}", file=sys.stderr)
    if not args.quiet:
        for result in summary.converted:
            fps = result.frames / result.seconds if result.seconds else 0.0
            print(f"{result.input} -> {result.output} ({result.frames} frames, {result.seconds:.1f} s, {fps:.2f} frames/s)")
        if len(plan.jobs) > 1 or plan.unreadable:
            print(f"{len(summary.converted)} converted, {len(summary.skipped)} skipped, {len(summary.failed)} failed")
    return 0 if summary.ok else 1
