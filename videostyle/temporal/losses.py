"""Temporal losses on frame pairs: the output, the encoder features and the response to
input noise should change only as the picture moves."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .flow import warp


def output_temporal_loss(out1: torch.Tensor, out2: torch.Tensor, flow: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Masked mean of (O2 − warp(O1))² over pixels and channels, outputs in [0, 1]."""
    warped = warp(out1.float(), flow)
    diff = (out2.float() - warped) ** 2 * mask
    return diff.sum() / (mask.sum() * out1.shape[1]).clamp_min(1)


def feature_temporal_loss(feat1: torch.Tensor, feat2: torch.Tensor, flow: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The same on encoder features (ReCoNet): flow and mask resized to the feature grid;
    divided by the features' mean square so the weight does not depend on their scale."""
    h, w = feat1.shape[-2:]
    scale_y, scale_x = h / flow.shape[1], w / flow.shape[2]
    small = F.interpolate(flow.permute(0, 3, 1, 2), size=(h, w), mode="bilinear", align_corners=True)
    small = torch.stack([small[:, 0] * scale_x, small[:, 1] * scale_y], dim=-1)
    small_mask = -F.adaptive_max_pool2d(-mask, (h, w))  # a feature cell counts only if all its pixels do
    warped = warp(feat1.float(), small)
    diff = (feat2.float() - warped) ** 2 * small_mask
    value = diff.sum() / (small_mask.sum() * feat1.shape[1]).clamp_min(1)
    return value / feat1.float().pow(2).mean().detach().clamp_min(1e-8)


def noise_stability_loss(out_clean: torch.Tensor, out_noisy: torch.Tensor) -> torch.Tensor:
    """Mean square change of the output under small input noise (Gupta et al. 2017)."""
    return F.mse_loss(out_noisy.float(), out_clean.float())

