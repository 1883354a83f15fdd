"""Consecutive-frame pairs of real clips, with DIS flow and the flicker metric's mask."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError, InputError
from ..media.decode import VideoSource
from ..media.images import flatten_alpha
from ..media.kinds import GIF_EXTENSIONS, VIDEO_EXTENSIONS
from ..network.tensors import to_tensor
from .cuts import is_scene_cut
from .flow import flow_and_mask

log = logging.getLogger(__name__)


class VideoPairs:
    """Consecutive-frame pairs from real clips, cropped to ``size`` with DIS flow and the
    metric's occlusion mask (transparent pixels and moving hole edges included);
    ``pairs_per_clip`` pairs are drawn from each clip once, and those that are scene cuts
    by the metric's rule are left out (across a cut no flow is right)."""

    def __init__(self, folder: str | os.PathLike, size: int, seed: int, pairs_per_clip: int = 24):
        rng = np.random.default_rng([seed, 7])
        self.pairs: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]] = []
        cuts = 0
        clips = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS | GIF_EXTENSIONS)
        for clip in clips:
            try:
                with VideoSource(clip, max_size=max(2 * size, 320)) as source:
                    frames = [(flatten_alpha(f.rgb, f.alpha), f.alpha) for f in source.frames()]
            except InputError as error:  # a clip that cannot be read is reported and left out
                log.warning("leaving video %s out of the frame pairs (%s)", clip, error)
                continue
            if len(frames) < 2 or min(frames[0][0].shape[:2]) < size:
                continue
            for t in rng.choice(len(frames) - 1, size=min(pairs_per_clip, len(frames) - 1), replace=False):
                height, width = frames[t][0].shape[:2]
                y0 = int(rng.integers(0, height - size + 1))
                x0 = int(rng.integers(0, width - size + 1))
                crop = lambda x: None if x is None else np.ascontiguousarray(x[y0:y0 + size, x0:x0 + size])  # noqa: E731
                a, alpha_a = map(crop, frames[t])
                b, alpha_b = map(crop, frames[t + 1])
                # frame2(x) ≈ frame1(x + flow); the metric's mask, transparency included
                flow, mask = flow_and_mask(b, a, alpha_b, alpha_a)
                if is_scene_cut(mask, b, a):
                    cuts += 1
                    continue
                self.pairs.append((to_tensor(a), to_tensor(b), torch.from_numpy(flow),
                                   torch.from_numpy(mask.astype(np.float32))[None]))
        if not self.pairs:
            raise DataError(f"no usable video clips (at least 2 frames, {size} px) found", folder)
        log.info("%d real frame pairs from %d clips (%d scene cuts left out)", len(self.pairs), len(clips), cuts)

    def sample(self, count: int, rng: np.random.Generator):
        picks = [self.pairs[i] for i in rng.integers(0, len(self.pairs), size=count)]
        return tuple(torch.stack(parts) for parts in zip(*picks))

