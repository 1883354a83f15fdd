"""``videostyle optimize``: stylize one image by per-image optimisation (the slow reference)."""

from __future__ import annotations

import logging

from ..config import OptimizeConfig, default
from .args import add_amp, add_common, add_device, add_loss_options, loss_kwargs, positive_float, positive_int
from .progress import with_step_bar

LOG_LEVEL = logging.INFO  # the precision line and what the data gave


def add_parser(sub) -> None:
    p = sub.add_parser("optimize", help="stylize one image by per-image optimisation (Gatys et al.; slow reference)",
                       description="Optimise the pixels of one image against the same losses that train the fast "
                       "networks: the slow, best-case reference for a loss setting (tens of seconds per image "
                       "on a CPU).")
    p.add_argument("content", help="content image")
    p.add_argument("--style", required=True, help="style image")
    p.add_argument("-o", "--out", required=True, help="output image (.png, .jpg, .webp)")
    p.add_argument("--steps", type=positive_int, default=default(OptimizeConfig, "steps"),
                   help="Adam steps (default: %(default)s)")
    p.add_argument("--lr", type=positive_float, default=default(OptimizeConfig, "lr"),
                   help="Adam learning rate on [0, 1] pixels (default: %(default)s)")
    p.add_argument("--max-size", type=positive_int, default=default(OptimizeConfig, "max_size"), metavar="PX",
                   help="long side (default: %(default)s)")
    p.add_argument("--seed", type=int, default=default(OptimizeConfig, "seed"))
    add_device(p)
    add_amp(p)
    add_loss_options(p)
    add_common(p)


def main(args, parser) -> int:
    from ..training.optimize import optimize

    config = OptimizeConfig(content=args.content, style=args.style, out=args.out, steps=args.steps, lr=args.lr,
                            max_size=args.max_size, seed=args.seed, device=args.device, amp=args.amp,
                            **loss_kwargs(args))
    parts = with_step_bar(args, "optimize", lambda bar: optimize(config, bar))
    if not args.quiet:
        print(f"wrote {args.out}: " + ", ".join(f"{k} {v:.4g}" for k, v in parts.items()))
    return 0
