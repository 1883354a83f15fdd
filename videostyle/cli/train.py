"""``videostyle train``: train a style network on a folder of photos."""

from __future__ import annotations

import logging

from ..config import RECIPES, TrainConfig, default
from .args import (add_common, add_loop_options, add_loss_options, loop_kwargs, loss_kwargs, non_negative_float,
                   number_pair, positive_int)
from .progress import train_with_step_bar


def _recipes(field: str) -> str:
    """A recipe field's value per loss network, for the help text."""
    def show(value) -> str:
        return "-".join(map(str, value)) if isinstance(value, tuple) else str(value)
    return "; ".join(f"{name}: {show(getattr(recipe, field))}" for name, recipe in RECIPES.items())


LOG_LEVEL = logging.INFO  # the precision line and what the data gave


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a style network on a folder of photos",
                       description="Train a TransformerNet for one style image on any folder tree of photos. "
                       "Writes the plain state dict to --out (loadable by pytorch/examples too), a model card "
                       "beside it, and samples, losses.csv, the loss and held-out curves and checkpoints under "
                       "--run-dir. Under torchrun --nproc_per_node N it trains with DistributedDataParallel.")
    p.add_argument("--style", required=True, help="style image")
    p.add_argument("--data", required=True, help="folder of training photos (any tree)")
    p.add_argument("--out", required=True, help="output .pth")
    p.add_argument("--init-model", metavar="MODEL",
                   help="start from these weights (a shipped name or .pth) instead of random ones")
    p.add_argument("--style-licence", help="licence of the style image, recorded in the model card")
    g = p.add_argument_group("network size")
    g.add_argument("--channels", type=positive_int, default=default(TrainConfig, "channels"),
                   help="base width (default: %(default)s, as in the paper)")
    g.add_argument("--residual-blocks", type=positive_int, default=default(TrainConfig, "residual_blocks"),
                   help="(default: %(default)s)")
    add_loss_options(p)
    add_loop_options(p, TrainConfig, _recipes("iterations"))
    g = p.add_argument_group("training crops")
    g.add_argument("--image-size", type=positive_int, metavar="PX",
                   help=f"training crop size (default: {_recipes('image_size')})")
    g.add_argument("--photo-size", type=number_pair(int, 1, 1 << 16, "--photo-size"), metavar="MIN,MAX",
                   help="crops are cut from photos scaled to a short side of MIN-MAX px: how large things are "
                   f"against the strokes (default: {_recipes('photo_size')}; with only --image-size S: S-2S)")
    g.add_argument("--temporal-weight", type=non_negative_float, metavar="W",
                   help="> 0: half of each batch is the second frame of a synthetic camera-motion pair, and output "
                   "that does not move with the picture costs W times its squared change; it keeps fine stripes "
                   f"tied to the network's pixel grid away (default: {_recipes('temporal_weight')})")
    add_common(p)


def config_from(args) -> TrainConfig:
    return TrainConfig(style=args.style, data=args.data, out=args.out, init_model=args.init_model,
                       style_licence=args.style_licence, channels=args.channels,
                       residual_blocks=args.residual_blocks, image_size=args.image_size,
                       photo_size=args.photo_size, temporal_weight=args.temporal_weight, **loss_kwargs(args),
                       **loop_kwargs(args))


def main(args, parser) -> int:
    from ..training.train import train

    config = config_from(args)
    if config.jitter >= config.crop_px() // 2:
        parser.error(f"--jitter must be below {config.crop_px() // 2} (half the crop size)")
    if config.temporal() and config.batch_size % 2:
        parser.error(f"the temporal term needs an even --batch-size (each photo gives a pair), got "
                     f"{config.batch_size}; or pass --temporal-weight 0")
    return train_with_step_bar(args, "train", lambda bar: train(config, bar))
