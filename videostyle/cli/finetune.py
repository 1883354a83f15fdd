"""``videostyle finetune``: fine-tune a model for temporal stability (less flicker)."""

from __future__ import annotations

import logging
from dataclasses import replace

from ..config import FinetuneConfig, default
from .args import (
    add_common,
    add_loop_options,
    add_loss_options,
    fraction,
    loop_kwargs,
    loss_kwargs,
    non_negative_float,
    non_negative_int,
    number_pair,
    positive_int,
)
from .progress import train_with_step_bar

MOTION = default(FinetuneConfig, "motion")

LOG_LEVEL = logging.INFO  # the precision line and what the data gave


def add_parser(sub) -> None:
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
    p.add_argument("--image-size", type=positive_int, default=default(FinetuneConfig, "image_size"),
                   help="training crop size (default: %(default)s)")
    p.add_argument("--photo-size", type=number_pair(int, 1, 1 << 16, "--photo-size"), metavar="MIN,MAX",
                   default=default(FinetuneConfig, "photo_size"),
                   help="crops are cut from photos scaled to a short side of MIN-MAX px (default: the crop "
                   "size to twice that)")
    g = p.add_argument_group("temporal terms")
    g.add_argument("--temporal-weight", type=non_negative_float, default=default(FinetuneConfig, "temporal_weight"),
                   help="masked output difference to the warped previous output (default: %(default)s)")
    g.add_argument("--feature-weight", type=non_negative_float, default=default(FinetuneConfig, "feature_weight"),
                   help="the same on the encoder features, relative to their scale (default: %(default)s)")
    g.add_argument("--style-boost", type=non_negative_float, default=default(FinetuneConfig, "style_boost"),
                   help="the style weight is the model card's times this, against the pull of the temporal "
                   "terms; --style-weight sets it outright (default: %(default)s)")
    g.add_argument("--temporal-warmup", type=non_negative_int, default=default(FinetuneConfig, "temporal_warmup"),
                   metavar="STEPS", help="raise the temporal, feature and noise terms linearly from 0 over the first "
                   "STEPS steps (default: %(default)s)")
    g.add_argument("--noise-weight", type=non_negative_float, default=default(FinetuneConfig, "noise_weight"),
                   help="output change under input noise (default: %(default)s)")
    g.add_argument("--noise-std", type=non_negative_float, default=default(FinetuneConfig, "noise_std"),
                   help="input noise, RGB in [0, 1] (default: %(default)s)")
    g.add_argument("--moving-objects", type=fraction, default=MOTION.object_probability, metavar="SHARE",
                   help="share of synthetic pairs in which an object cut from another photo moves on its own "
                   f"over the moving background, 0 to 1 (default: {MOTION.object_probability:g})")
    g.add_argument("--object-radius", type=number_pair(float, 1e-9, 0.5, "--object-radius"),
                   default=MOTION.object_radius, metavar="MIN,MAX",
                   help="radii of those objects' ellipses, drawn between MIN and MAX times the crop's shorter side; "
                   "small radii stand for small fast things such as balls and hands (default: %s)"
                   % ",".join(f"{r:g}" for r in MOTION.object_radius))
    g.add_argument("--compressed-pairs", type=fraction, default=default(FinetuneConfig, "compressed_share"),
                   metavar="SHARE", help="share of synthetic pairs whose two frames are each JPEG-compressed at "
                   "their own random quality (25-90), like codec noise in real footage (default: %(default)s)")
    g.add_argument("--gif-pairs", type=fraction, default=default(FinetuneConfig, "gif_share"), metavar="SHARE",
                   help="share of synthetic pairs whose two frames are each quantized to their own 256-colour "
                   "palette with Floyd-Steinberg dithering, like the frames of an animated GIF, whose dither "
                   "changes from frame to frame where nothing moves (default: %(default)s)")
    g.add_argument("--brightness-drift", type=non_negative_float, default=default(FinetuneConfig, "drift_std"),
                   metavar="STD", help="add to the second frame of each synthetic pair a smooth random brightness "
                   "field (features 8-64 px) of standard deviation up to STD, RGB in [0, 1], like the lighting, "
                   "exposure and codec changes of real footage where nothing moves; 0 = off (default: %(default)s)")
    g.add_argument("--contrast-ramp", type=non_negative_float, default=default(FinetuneConfig, "contrast_ramp"),
                   metavar="STD", help="recorded in the output's card: `run` fades the output of frames whose "
                   "grey-level standard deviation (0-255) is below STD toward the flat-frame colour, so fades "
                   "from black do not flash; 0 = off (default: %(default)s)")
    add_loss_options(p)
    p.set_defaults(loss_net=None)
    add_loop_options(p, FinetuneConfig, str(FinetuneConfig.DEFAULT_ITERATIONS))
    add_common(p)


def config_from(args) -> FinetuneConfig:
    return FinetuneConfig(model=args.model, data=args.data, out=args.out, videos=args.videos, style=args.style,
                          image_size=args.image_size, photo_size=args.photo_size,
                          temporal_weight=args.temporal_weight, feature_weight=args.feature_weight,
                          noise_weight=args.noise_weight, noise_std=args.noise_std, style_boost=args.style_boost,
                          temporal_warmup=args.temporal_warmup,
                          motion=replace(MOTION, object_probability=args.moving_objects,
                                         object_radius=args.object_radius),
                          compressed_share=args.compressed_pairs, gif_share=args.gif_pairs,
                          drift_std=args.brightness_drift, contrast_ramp=args.contrast_ramp,
                          **{**loss_kwargs(args), "antialias": None if args.antialias else False},
                          **loop_kwargs(args))


def main(args, parser) -> int:
    from ..training.finetune import finetune

    config = config_from(args)
    return train_with_step_bar(args, "finetune", lambda bar: finetune(config, bar))
