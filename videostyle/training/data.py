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

from ..errors import DataError, InputError
from ..media.images import load_rgb
from ..media.kinds import IMAGE_EXTENSIONS
from ..network.tensors import to_tensor

log = logging.getLogger(__name__)


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
    if count >= len(files):
        raise DataError(f"{len(files)} photos found, and --holdout {count} keeps them all out of training; "
                        "add photos or hold out fewer")
    ranked = sorted(files, key=lambda p: hashlib.sha1(p.name.encode()).hexdigest())
    held = set(ranked[:count])
    return [f for f in files if f not in held], sorted(held)


def load_square(path: str | os.PathLike, size: int) -> torch.Tensor:
    """Centre square crop resized to ``size`` (for fixed validation images)."""
    image = load_rgb(path)
    return to_tensor(ImageOps.fit(image, (size, size), Image.Resampling.BICUBIC))


class TrainingImages:
    """Random square crops of a folder of photos, addressed by (step, rank).

    Each crop is ``image_size`` pixels of its photo scaled so that the photo's short side
    is between ``photo_size`` pixels (default ``(image_size, 2 * image_size)``): the
    photo scale sets how large objects are against the style's strokes, the crop size
    only how much of the photo one step sees, so small crops at the same photo scale
    train the same network for a quarter of the work per step.
    """

    def __init__(self, files: Sequence[Path], image_size: int, seed: int,
                 photo_size: tuple[int, int] | None = None):
        if not files:
            raise DataError("no training images left after holding out the validation images")
        self.files = list(files)
        self.image_size = image_size
        self.seed = seed
        low, high = photo_size or (image_size, 2 * image_size)
        if not 0 < low <= high:
            raise DataError(f"photo size range {low}-{high} px is empty")
        # the crop's side as a fraction of the photo's short side
        self.fractions = (min(1.0, image_size / high), min(1.0, image_size / low))
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
        side = max(1, int(round(short * rng.uniform(*self.fractions))))
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
                except InputError as error:
                    self.unreadable.add(path)
                    log.warning("skipping unreadable training image %s (%s)", path, error.reason)
            else:
                raise DataError("none of the training images can be read")
        return torch.stack(images)
