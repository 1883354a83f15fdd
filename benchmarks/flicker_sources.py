"""Where a model's flicker comes from, split by kind of pixel and by cause.

For each clip (downscaled to 320 px like ``benchmarks/flicker.py``) and each model, on up
to 40 evenly spaced frame pairs (scene cuts left out), the warping error of the metric
(DIS flow, the metric's occlusion mask; the frames stylized in fp32 in memory, not
written to a file) and:

- ``moving``: the share of the masked pixels whose flow is 0.25 px or more, and the
  share of the error that sits on them;
- ``input still``: the error left when every pixel of frame t+1 whose flow is under
  0.25 px is replaced by frame t's pixel, so that only what moves differs. What is left
  on the still pixels is texture that moving pixels up to the receptive field away
  re-form; what went away was caused by the small changes (codec, dither, noise) of
  the still pixels themselves;
- ``norm of t``: the error when frame t+1 is stylized with the instance norms' means
  and variances taken from frame t: what the frame-wide statistics carry.

Both are given as a share of the model's error. ``by flow`` splits the error by the
flow's length at each pixel (bands of ``FLOW_BANDS_PX``): each band's part of the error,
so the parts add up to it, and the bands' shares of the masked area; comparing a stable
model's parts with its base model's shows in which band it is not yet at half.

    python benchmarks/flicker_sources.py [--models A,B] [--clips X,Y]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.flicker import LOSSLESS, MEDIA, _Identity  # noqa: E402
from benchmarks.results import header, write_section  # noqa: E402
from videostyle.media.decode import VideoSource  # noqa: E402
from videostyle.network.models import load_model  # noqa: E402
from videostyle.network.stylize import Stylizer  # noqa: E402
from videostyle.pipeline.file import stylize_file  # noqa: E402
from videostyle.temporal.cuts import is_scene_cut  # noqa: E402
from videostyle.temporal.flicker import _frames  # noqa: E402
from videostyle.temporal.flow import flow_and_mask, warp_array  # noqa: E402

MODELS = "mosaic,mosaic-stable,the_scream,the_scream-stable"
CLIPS = "newtonscradle.gif,pigs_in_a_polka.gif,big_buck_bunny_432_433.webm,iphone_rotated.mov"
MAX_SIZE = 320
PAIRS = 40
STILL_PX = 0.25
FLOW_BANDS_PX = (STILL_PX, 1.0, 3.0)  # band edges: still, under a pixel, 1-3 px, more


def reference_frames(clip: Path) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """The clip's frames as the metric sees them: downscaled and written losslessly."""
    with tempfile.TemporaryDirectory() as tmp:
        ref = Path(tmp) / ("ref" + (".gif" if clip.suffix == ".gif" else ".mkv"))
        stylize_file(clip, ref, _Identity(), max_size=MAX_SIZE, encoding=LOSSLESS)
        with VideoSource(ref) as source:
            return [(rgb, alpha) for _, rgb, alpha in _frames(source)]


class Network:
    """fp32 forward of a model whose instance norms can record a frame's statistics and
    reuse them for the next one."""

    def __init__(self, name: str):
        net = load_model(name)
        self.mode, self.stats, self.index = "plain", [], 0
        for module in net.modules():
            if isinstance(module, torch.nn.InstanceNorm2d):
                module.forward = self._norm(module)
        self.stylizer = Stylizer(net, "cpu")

    def _norm(self, module: torch.nn.InstanceNorm2d):
        def forward(x: torch.Tensor) -> torch.Tensor:
            if self.mode == "replay":
                mean, var = self.stats[self.index]
                self.index += 1
            else:
                mean, var = x.mean((2, 3), keepdim=True), x.var((2, 3), keepdim=True, unbiased=False)
                if self.mode == "record":
                    self.stats.append((mean, var))
            y = (x - mean) / torch.sqrt(var + module.eps)
            return y * module.weight[None, :, None, None] + module.bias[None, :, None, None]
        return forward

    def __call__(self, frame: np.ndarray, mode: str = "plain") -> np.ndarray:
        self.mode, self.index = mode, 0
        if mode == "record":
            self.stats = []
        return self.stylizer([frame])[0] / 255


def sources(models: list[str], clip: Path) -> dict[str, dict[str, float]]:
    frames = reference_frames(clip)
    step = max(1, (len(frames) - 1) // PAIRS)
    pairs = []
    for i in range(0, len(frames) - 1, step):
        (a, alpha_a), (b, alpha_b) = frames[i], frames[i + 1]
        flow, mask = flow_and_mask(a, b, alpha_a, alpha_b)
        if is_scene_cut(mask, a, b):  # left out, as the metric does
            continue
        band = np.digitize(np.hypot(flow[..., 0], flow[..., 1]), FLOW_BANDS_PX)  # 0: still (< STILL_PX)
        in_band = [mask & (band == k) for k in range(len(FLOW_BANDS_PX) + 1)]
        still_input = np.where(in_band[0][..., None], a, b)
        pairs.append((a, b, still_input, flow, mask, in_band))
    band_pixels = np.sum([[m.sum() for m in in_band] for *_, in_band in pairs], axis=0)
    pixels = band_pixels.sum()  # the bands split the mask
    rows = {}
    for name in models:
        net = Network(name)
        band_sums = np.zeros(len(band_pixels))
        sums = dict.fromkeys(("input_still", "norm_of_t"), 0.0)
        for a, b, still_input, flow, mask, in_band in pairs:
            first = net(a, "record")
            error = ((first - warp_array(net(b), flow)) ** 2).mean(-1)
            band_sums += [error[m].sum() for m in in_band]
            sums["input_still"] += ((first - warp_array(net(still_input), flow)) ** 2).mean(-1)[mask].sum()
            sums["norm_of_t"] += ((first - warp_array(net(b, "replay"), flow)) ** 2).mean(-1)[mask].sum()
        total = band_sums.sum()
        rows[name] = {"pairs": len(pairs), "error": total / pixels, "moving_area": band_pixels[1:].sum() / pixels,
                      "moving": band_sums[1:].sum() / total, **{k: v / total for k, v in sums.items()},
                      "band_error": band_sums / pixels, "band_area": band_pixels / pixels}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=MODELS, help=f"comma-separated (default: {MODELS})")
    parser.add_argument("--clips", default=CLIPS, help=f"comma-separated files of {MEDIA} (default: {CLIPS})")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    lines = [header("Where the flicker comes from (`benchmarks/flicker_sources.py`)"),
             f"Per clip (at {MAX_SIZE} px, up to {PAIRS} evenly spaced pairs, fp32, not written to a file): the "
             "masked warping error; the share of the masked pixels that move (flow ≥ 0.25 px) and the share of "
             "the error on them; the error left when frame t+1's still pixels are copied from frame t, and the "
             "error with frame t's instance-norm statistics, as shares of the error. See the script's docstring.\n",
             f"`by flow`: the error's parts on pixels whose flow is under {FLOW_BANDS_PX[0]:g} px, "
             f"{FLOW_BANDS_PX[0]:g}–{FLOW_BANDS_PX[1]:g}, {FLOW_BANDS_PX[1]:g}–{FLOW_BANDS_PX[2]:g} and at least "
             f"{FLOW_BANDS_PX[2]:g} px (×10⁻⁶; they add up to the error), and those bands' shares of the masked "
             "area (%).\n",
             "| clip | model | pairs | error | moving: area / error | input still | norm of t | by flow: error | "
             "by flow: area |",
             "|---|---|---|---|---|---|---|---|---|"]
    for clip in args.clips.split(","):
        rows = sources(args.models.split(","), MEDIA / clip)
        for name, r in rows.items():
            line = (f"| {clip} | {name} | {r['pairs']} | {r['error']:.6f} | {r['moving_area']:.2f} / {r['moving']:.2f} "
                    f"| {r['input_still']:.2f} | {r['norm_of_t']:.2f} | "
                    + " / ".join(f"{1e6 * v:.0f}" for v in r["band_error"]) + " | "
                    + " / ".join(f"{100 * v:.1f}" for v in r["band_area"]) + " |")
            print(line, flush=True)
            lines.append(line)
    write_section("flicker_sources", "\n".join(lines))


if __name__ == "__main__":
    main()
