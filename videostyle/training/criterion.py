"""The perceptual loss of a run, built from its loss options: the loss network, the
style image at its size, and the layers and weights."""

from __future__ import annotations

from dataclasses import replace

import torch

from ..config import LOSS_DEFAULTS, LossOptions
from ..errors import ConfigError, InputError
from ..media.images import fit_long_side, load_rgb
from ..network.tensors import to_tensor
from .loss_networks import build_loss_network
from .losses import PerceptualLoss


def load_style_image(path: str, style_size: int | None) -> torch.Tensor:
    """(1, 3, H, W) in [0, 1], long side resized to ``style_size`` (None: as it is)."""
    try:
        image = load_rgb(path)
    except InputError as error:
        raise ConfigError(f"cannot read the style image ({error.reason})", path) from error
    if style_size:
        image = fit_long_side(image, style_size)
    return to_tensor(image)[None]


def build_perceptual_loss(options: LossOptions, style: str, device: torch.device,
                          channels_last: bool = False) -> PerceptualLoss:
    """The content + style + TV loss of ``options`` against the style image ``style``."""
    settings = options.loss_settings()
    loss_net = build_loss_network(options.loss_net,
                                  weights=options.vgg_weights if options.loss_net == "vgg16" else None,
                                  pretrained=options.pretrained_loss_net, antialias=options.antialias)
    loss_net = loss_net.to(device)
    if channels_last:
        loss_net = loss_net.to(memory_format=torch.channels_last)
    style_image = load_style_image(style, options.style_px()).to(device)
    return PerceptualLoss(loss_net, style_image, settings["content_layer"], settings["style_layers"],
                          settings["content_weight"], settings["style_weight"], settings["tv_weight"],
                          settings["style_normalisation"], jitter=options.jitter,
                          statistics=settings.get("style_statistics", "gram")).to(device)


LOSS_FIELDS = ("content_layer", "content_weight", "style_weight", "tv_weight", "style_normalisation",
               "style_statistics", "style_layers")


def options_from_card(card: dict, loss_net: str | None = None, **given) -> LossOptions:
    """The loss options a model was trained with, from its card (``loss_network`` and
    ``style.style_size``); ``given`` values (not None) replace them, and a ``loss_net``
    other than the card's starts from that network's defaults."""
    recorded = card.get("loss_network", {})
    loss_net = loss_net or recorded.get("name") or "efficientnet-lite0"
    if loss_net not in LOSS_DEFAULTS:
        raise ConfigError(f"unknown loss network {loss_net!r}; choose one of {', '.join(LOSS_DEFAULTS)}")
    settings = {k: recorded[k] for k in LOSS_FIELDS if k in recorded} if recorded.get("name") == loss_net else {}
    settings.update({k: v for k, v in given.items() if v is not None})
    if isinstance(settings.get("style_layers"), dict):
        settings["style_layers"] = tuple(settings["style_layers"].items())
    recorded_antialias = recorded.get("antialias")  # null in cards of VGG16 models
    settings.setdefault("antialias", True if recorded_antialias is None else bool(recorded_antialias))
    settings.setdefault("style_size", card.get("style", {}).get("style_size") or 512)
    return LossOptions(loss_net=loss_net, **settings)


def with_boosts(options: LossOptions, style: float = 1.0, content: float = 1.0) -> LossOptions:
    """``options`` with the style and content weights (given, or the loss network's
    defaults) times ``style`` and ``content``: finetune and distill raise the style weight
    against the pull of their temporal terms; distill measures content against the
    teacher's output, so raising that weight pulls the student toward its teacher."""
    settings = options.loss_settings()
    changes = {f"{name}_weight": settings[f"{name}_weight"] * boost
               for name, boost in (("style", style), ("content", content)) if boost != 1.0}
    return replace(options, **changes) if changes else options
