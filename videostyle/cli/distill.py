"""``videostyle distill``: train a small, fast student network to give a model's output."""

from __future__ import annotations

import logging

from ..config import DistillConfig, Motion, default
from .args import add_common, add_loop_options, fraction, loop_kwargs, non_negative_float, number_pair, positive_int
from .progress import train_with_step_bar

LOG_LEVEL = logging.INFO  # the precision line and what the data gave


def add_parser(sub) -> None:
    p = sub.add_parser("distill", help="train a small, fast network to give a model's output",
                       description="Distil a model (the teacher: a shipped name or a .pth with its card) into a "
                       "narrower TransformerNet that runs several times faster on a CPU. The student learns the "
                       "teacher's output on random crops of --data photos and on synthetic motion pairs (pixel "
                       "difference plus the teacher card's losses with the teacher's output as the content "
                       "target). Writes the student's weights and card; `videostyle run --model OUT` uses it.")
    p.add_argument("--teacher", required=True, help="model to distil (shipped name or .pth with a card)")
    p.add_argument("--data", required=True, help="folder of photos")
    p.add_argument("--out", required=True, help="output .pth")
    g = p.add_argument_group("student network")
    for name, text in (("channels", "base width"), ("residual_blocks", "residual blocks"),
                       ("end_kernel", "kernel of the first and last convolutions")):
        g.add_argument("--" + name.replace("_", "-"), type=positive_int, default=default(DistillConfig, name),
                       help=f"{text} (default: %(default)s; the full network: 32, 5, 9)")
    g = p.add_argument_group("what the student learns")
    g.add_argument("--pixel-weight", type=non_negative_float, default=default(DistillConfig, "pixel_weight"),
                   help="mean absolute difference to the teacher's output, RGB in [0, 1] (default: %(default)s)")
    g.add_argument("--perceptual-weight", type=non_negative_float,
                   default=default(DistillConfig, "perceptual_weight"),
                   help="the teacher card's losses, content measured against the teacher's output "
                   "(default: %(default)s)")
    g.add_argument("--pair-share", type=fraction, default=default(DistillConfig, "pair_share"), metavar="SHARE",
                   help="share of each batch that is a synthetic motion pair (default: %(default)s)")
    g.add_argument("--temporal-weight", type=non_negative_float, default=default(DistillConfig, "temporal_weight"),
                   help="output temporal term on those pairs, as in finetune (default: %(default)s)")
    g.add_argument("--style-boost", type=non_negative_float, default=default(DistillConfig, "style_boost"),
                   help="the teacher card's style weight times this, against the pull of the temporal term "
                   "(default: %(default)s)")
    g.add_argument("--content-boost", type=non_negative_float, default=default(DistillConfig, "content_boost"),
                   help="the teacher card's content weight times this; content is measured against the "
                   "teacher's output, so this pulls the student toward its teacher (default: %(default)s)")
    g.add_argument("--image-size", type=positive_int, default=default(DistillConfig, "image_size"),
                   help="training crop size (default: %(default)s)")
    g.add_argument("--photo-size", type=number_pair(int, 1, 1 << 16, "--photo-size"), metavar="MIN,MAX",
                   default=default(DistillConfig, "photo_size"),
                   help="crops are cut from photos scaled to a short side of MIN-MAX px (default: %s)"
                   % ",".join(map(str, default(DistillConfig, "photo_size"))))
    add_loop_options(p, DistillConfig, str(DistillConfig.DEFAULT_ITERATIONS))
    add_common(p)


def config_from(args) -> DistillConfig:
    return DistillConfig(teacher=args.teacher, data=args.data, out=args.out,
                         channels=args.channels, residual_blocks=args.residual_blocks, end_kernel=args.end_kernel,
                         pixel_weight=args.pixel_weight, perceptual_weight=args.perceptual_weight,
                         pair_share=args.pair_share, temporal_weight=args.temporal_weight,
                         style_boost=args.style_boost, content_boost=args.content_boost, motion=Motion(),
                         image_size=args.image_size, photo_size=args.photo_size, **loop_kwargs(args))


def main(args, parser) -> int:
    from ..training.distill import distill

    config = config_from(args)
    return train_with_step_bar(args, "distill", lambda bar: distill(config, bar))
