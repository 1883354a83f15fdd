"""Perceptual losses: content, Gram-matrix style, total variation.

Images are RGB in [0, 1] here. Two normalisations of the Gram style loss exist:

- ``"examples"`` — as in pytorch/examples: Gram = F Fᵀ / (C·H·W), loss = mean squared
  difference. Its weights depend on the network's activation scale (VGG16: style 1e10,
  content 1e5 on MSE of features).
- ``"relative"`` — each layer's squared Gram error is divided by the squared norm of that
  layer's target Gram, and content by the mean square of the content features, so every
  term is dimensionless and no single layer dominates by scale. Used for EfficientNet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import torch
import torch.nn.functional as F


def gram_matrix(features: torch.Tensor, centered: bool = False) -> torch.Tensor:
    """Batched Gram matrix F Fᵀ / (C·H·W), computed in fp32 whatever the input dtype;
    ``centered`` subtracts each channel's spatial mean first (a covariance matrix)."""
    b, c, h, w = features.shape
    f = features.float().reshape(b, c, h * w)
    if centered:
        f = f - f.mean(dim=2, keepdim=True)
    return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)


def total_variation(images: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between horizontal and vertical neighbours (anisotropic L1)."""
    dh = (images[..., 1:, :] - images[..., :-1, :]).abs().mean()
    dw = (images[..., :, 1:] - images[..., :, :-1]).abs().mean()
    return dh + dw


@dataclass(frozen=True)
class StyleTarget:
    """Style statistics of one style image, computed once: ``{layer: (1, C, C)}`` Grams
    (centered for ``statistics="covariance"``) and ``{layer: (1, C)}`` channel means."""

    grams: Mapping[str, torch.Tensor]
    norms: Mapping[str, torch.Tensor]  # squared Frobenius norm of each target Gram
    means: Mapping[str, torch.Tensor]
    statistics: str = "gram"

    @classmethod
    def from_features(cls, features: Mapping[str, torch.Tensor], statistics: str = "gram") -> "StyleTarget":
        centered = statistics == "covariance"
        grams = {k: gram_matrix(v, centered).detach() for k, v in features.items()}
        means = {k: v.float().mean(dim=(2, 3)).detach() for k, v in features.items()}
        return cls(grams, {k: g.pow(2).sum(dim=(1, 2)).mean() for k, g in grams.items()}, means, statistics)

    def to(self, device) -> "StyleTarget":
        move = lambda d: {k: v.to(device) for k, v in d.items()}  # noqa: E731
        return StyleTarget(move(self.grams), move(self.norms), move(self.means), self.statistics)


def style_loss(features: Mapping[str, torch.Tensor], target: StyleTarget,
               layer_weights: Mapping[str, float], normalisation: str) -> tuple[torch.Tensor, dict]:
    """Weighted sum of per-layer style losses, and the unweighted per-layer values.

    ``gram`` statistics (Gatys, Johnson): the uncentered Gram. ``covariance``: the
    centered Gram plus the channel means, each relative to the target's norm, so that a
    layer's statistics cannot be met by trading texture strength against area (strong
    texture on part of the image, flat dark elsewhere) and colour spread counts.
    """
    total = 0.0
    per_layer = {}
    centered = target.statistics == "covariance"
    for layer, weight in layer_weights.items():
        gram = gram_matrix(features[layer], centered)
        goal = target.grams[layer].expand_as(gram)
        if normalisation == "relative":
            value = (gram - goal).pow(2).sum(dim=(1, 2)).mean() / target.norms[layer]
        else:
            value = F.mse_loss(gram, goal)
        if centered:
            mean = features[layer].float().mean(dim=(2, 3))
            goal_mean = target.means[layer].expand_as(mean)
            value = value + (mean - goal_mean).pow(2).sum(dim=1).mean() / goal_mean.pow(2).sum(dim=1).mean().clamp_min(1e-8)
        per_layer[layer] = value.detach()
        total = total + weight * value
    return total, per_layer


def content_loss(features: torch.Tensor, target: torch.Tensor, normalisation: str) -> torch.Tensor:
    value = F.mse_loss(features.float(), target.float())
    if normalisation == "relative":
        value = value / target.float().pow(2).mean().clamp_min(1e-8)
    return value


class PerceptualLoss(torch.nn.Module):
    """Content + weighted Gram style + TV loss of a transform net's output.

    ``content_layer`` / ``style_layers`` name layers of ``loss_net``; the style target is
    computed once from ``style_image`` (1, 3, H, W) in [0, 1]. ``jitter`` crops output and
    input by the same random 0..jitter pixel offset before the loss network, so that the
    generator cannot align patterns with the loss network's sampling grid.
    """

    def __init__(self, loss_net, style_image: torch.Tensor, content_layer: str,
                 style_layers: Mapping[str, float], content_weight: float, style_weight: float,
                 tv_weight: float, normalisation: str, jitter: int = 0, statistics: str = "gram"):
        super().__init__()
        loss_net.check_layers([content_layer, *style_layers])
        self.loss_net = loss_net
        self.content_layer = content_layer
        self.style_layers = dict(style_layers)
        self.content_weight = content_weight
        self.style_weight = style_weight
        self.tv_weight = tv_weight
        self.normalisation = normalisation
        self.jitter = jitter
        with torch.no_grad():
            features = loss_net(style_image, list(self.style_layers))
        self.target = StyleTarget.from_features(features, statistics)

    def to(self, *args, **kwargs):  # keep the precomputed target on the same device
        super().to(*args, **kwargs)
        self.target = self.target.to(next(self.loss_net.parameters()).device)
        return self

    def _crop(self, images: torch.Tensor, offset: tuple[int, int] | None) -> torch.Tensor:
        if not self.jitter or offset is None:
            return images
        dy, dx = offset
        h, w = images.shape[-2:]
        return images[..., dy:h - self.jitter + dy, dx:w - self.jitter + dx]

    def forward(self, output: torch.Tensor, content: torch.Tensor,
                offset: tuple[int, int] | None = None) -> tuple[torch.Tensor, dict[str, float | torch.Tensor]]:
        """(total loss, parts) for output and content images in [0, 1]; ``offset`` is this
        step's jitter crop (None: the whole images, as for evaluation)."""
        out_j, in_j = self._crop(output, offset), self._crop(content, offset)
        layers = list(dict.fromkeys([self.content_layer, *self.style_layers]))
        features = self.loss_net(out_j, layers)
        with torch.no_grad():
            target = self.loss_net(in_j, [self.content_layer])[self.content_layer]
        c = content_loss(features[self.content_layer], target, self.normalisation)
        s, per_layer = style_loss(features, self.target, self.style_layers, self.normalisation)
        tv = total_variation(output.float())
        total = self.content_weight * c + self.style_weight * s + self.tv_weight * tv
        parts = {"total": total.detach(), "content": c.detach(), "style": s.detach(), "tv": tv.detach()}
        parts.update({f"style/{k}": v for k, v in per_layer.items()})
        return total, parts
