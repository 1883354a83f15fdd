"""Training images: any folder tree of photos, random square crops, deterministic by step.

Which images and which crops a step uses depends only on ``(seed, step)`` — not on
how many steps ran before in this process — so a resumed run sees exactly the batches an
uninterrupted one would. Unreadable files are skipped (with a warning, once each) and
counted; the batch takes the next image of the epoch's permutation instead.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageOps

from .errors import DataError

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


def list_images(root: str | os.PathLike) -> list[Path]:
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise DataError("training data folder not found", root)
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not files:
        raise DataError(f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) found", root)
    return files


def split_holdout(files: Sequence[Path], count: int) -> tuple[list[Path], list[Path]]:
    """(training, held out): the ``count`` files whose names hash lowest are held out, a
    choice that does not depend on listing order or on which other files exist."""
    ranked = sorted(files, key=lambda p: hashlib.sha1(p.name.encode()).hexdigest())
    held = set(ranked[:count])
    return [f for f in files if f not in held], sorted(held)


def load_rgb(path: str | os.PathLike) -> Image.Image:
    """An upright (EXIF-transposed) RGB image; raises OSError/ValueError if unreadable."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        return im.convert("RGB")


def to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL RGB image (or (H, W, 3) uint8 array) -> float (3, H, W) in [0, 1]."""
    return torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1).float() / 255


def load_square(path: str | os.PathLike, size: int) -> torch.Tensor:
    """Centre square crop resized to ``size`` (for fixed validation images)."""
    image = load_rgb(path)
    return to_tensor(ImageOps.fit(image, (size, size), Image.Resampling.BICUBIC))


class TrainingImages:
    """Random crops of a folder of photos, addressed by (step, rank)."""

    def __init__(self, files: Sequence[Path], image_size: int, seed: int,
                 min_scale: float = 0.5):
        if not files:
            raise DataError("no training images left after holding out the validation images")
        self.files = list(files)
        self.image_size = image_size
        self.seed = seed
        self.min_scale = min_scale
        self.unreadable: set[Path] = set()
        self._perm_epoch = -1
        self._perm = np.arange(0)

    def __len__(self) -> int:
        return len(self.files)

    def _permutation(self, epoch: int) -> np.ndarray:
        if epoch != self._perm_epoch:
            self._perm = np.random.default_rng([self.seed, epoch]).permutation(len(self.files))
            self._perm_epoch = epoch
        return self._perm

    def _crop(self, path: Path, rng: np.random.Generator) -> torch.Tensor:
        image = load_rgb(path)
        w, h = image.size
        short = min(w, h)
        side = int(round(short * rng.uniform(self.min_scale, 1.0)))
        x0 = int(rng.integers(0, w - side + 1))
        y0 = int(rng.integers(0, h - side + 1))
        crop = image.resize((self.image_size, self.image_size), Image.Resampling.BICUBIC,
                            box=(x0, y0, x0 + side, y0 + side))
        if rng.random() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return to_tensor(crop)

    def batch(self, step: int, batch_size: int, rank: int = 0, world_size: int = 1) -> torch.Tensor:
        """This rank's ``batch_size`` crops for ``step``: (B, 3, S, S) in [0, 1]."""
        n = len(self.files)
        images = []
        for j in range(rank * batch_size, (rank + 1) * batch_size):
            sample = step * batch_size * world_size + j
            epoch, position = divmod(sample, n)
            perm = self._permutation(epoch)
            rng = np.random.default_rng([self.seed, step, j, 1])
            for attempt in range(n):
                path = self.files[perm[(position + attempt) % n]]
                if path in self.unreadable:
                    continue
                try:
                    images.append(self._crop(path, rng))
                    break
                except (OSError, ValueError, Image.DecompressionBombError) as error:
                    self.unreadable.add(path)
                    log.warning("skipping unreadable training image %s (%s)", path, error)
            else:
                raise DataError("none of the training images can be read")
        return torch.stack(images)
