"""Pictures as tensors: the conversions between uint8 images and the float tensors in
[0, 1] that training, evaluation and the temporal pairs work on."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def to_tensor(image: Image.Image | np.ndarray) -> torch.Tensor:
    """PIL RGB image (or (H, W, 3) uint8 array) -> float (3, H, W) in [0, 1]."""
    return torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1).float() / 255


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """A (3, H, W) image in [0, 1] as an (H, W, 3) uint8 array, rounding half up."""
    return (image.detach().float().cpu().permute(1, 2, 0).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
