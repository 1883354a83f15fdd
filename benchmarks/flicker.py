"""Flicker of the shipped models: base, ``-stable`` fine-tune, and each with ``--stabilize``.

On every video and GIF in ../shared/data/media and on clips generated here with
camera-like motion (pan, zoom, handheld shake) from photos no model was trained on
(scikit-image's samples), each variant stylizes the clip (``--max-size`` PX, bf16 where
the CPU has it) and its temporal warping error (``videostyle flicker``) is measured.
Also: frames/s of each variant, and the content/style losses of base and stable
models on held-out photos.

    python benchmarks/flicker.py [MODEL ...] [--max-size 320]
    python benchmarks/flicker.py MODEL --stable CANDIDATE.pth --quick   # a candidate, base and stable only
"""

from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.quality import held_out_photos  # noqa: E402
from benchmarks.results import header, merge_store, write_section  # noqa: E402
from videostyle.media.decode import VideoSource  # noqa: E402
from videostyle.media.encode import VideoEncoding  # noqa: E402
from videostyle.media.images import flatten_alpha
from videostyle.network.devices import cpu_supports_bf16  # noqa: E402
from videostyle.network.models import available_models, load_model, read_card, resolve_model  # noqa: E402
from videostyle.network.padding import pad  # noqa: E402
from videostyle.network.stylize import Stylizer  # noqa: E402
from videostyle.network.transformer_net import input_contrast  # noqa: E402
from videostyle.pipeline.file import stylize_file  # noqa: E402
from videostyle.temporal.flicker import warping_error  # noqa: E402
from videostyle.temporal.stabilize import Stabilizer  # noqa: E402
from videostyle.training.criterion import build_perceptual_loss, options_from_card  # noqa: E402
from videostyle.training.evaluation import stylize_photo  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from make_examples import encode_video, view  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MEDIA = ROOT.parent / "shared" / "data" / "media"
SHARED = ROOT.parent / "shared" / "data"


def camera_clip(path: Path, photo: np.ndarray, kind: str, frames: int = 48, size=(320, 240), fps: int = 24) -> None:
    """A clip of a virtual camera over ``photo``: 'pan', 'zoom' or 'shake' (handheld:
    smooth random drift plus small rotation)."""
    src = Image.fromarray(photo)
    rng = np.random.default_rng(len(kind))
    drift = np.cumsum(rng.normal(0, 1.2, size=(frames, 3)), axis=0)
    kernel = np.ones(5) / 5
    drift = np.stack([np.convolve(drift[:, i], kernel, mode="same") for i in range(3)], axis=1)

    def views():
        for i in range(frames):
            t = i / (frames - 1)
            zoom, cx, cy, angle = 1.3, 0.5, 0.5, 0.0
            if kind == "pan":
                cx = 0.35 + 0.3 * t
            elif kind == "zoom":
                zoom = 1.1 + 0.6 * t
            else:
                cx, cy, angle = 0.5 + drift[i, 0] / 300, 0.5 + drift[i, 1] / 300, drift[i, 2] * 0.3
            yield view(src, size, zoom, cx, cy, angle)

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.codec_context.options = {"crf": "16"}
        encode_video(out, stream, views(), fps)


def frame_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def generated_clips(folder: Path) -> list[Path]:
    from skimage import data
    clips = []
    for photo, kind in (("astronaut", "pan"), ("coffee", "zoom"), ("rocket", "shake"), ("chelsea", "shake")):
        path = folder / f"{photo}_{kind}.mp4"
        camera_clip(path, getattr(data, photo)(), kind)
        clips.append(path)
    return clips


# Videos are written as lossless H.264 (GIFs as GIFs), so that the metric sees the model's
# flicker and not the encoder's, and a rerun reads the same: at CRF 18, libx264 wrote
# different streams from the same frames (with its own thread count often, with one
# thread now and then), and bikes.mp4's floor read from 0.00092 to 0.00155.
LOSSLESS = VideoEncoding(crf=0, threads=1)


def measure(clip: Path, out: Path, stylizer: Stylizer, max_size: int, stabilize: float | None,
            encoding: VideoEncoding = LOSSLESS) -> tuple[float, float, float, int]:
    """(warping error, floor, frames/s, scene cuts left out) of one stylization; the original is measured at
    the same (downscaled) size by stylizing it with an identity pass, written the same way."""
    start = time.perf_counter()
    result = stylize_file(clip, out, stylizer, max_size=max_size, encoding=encoding,
                          frame_filter=Stabilizer(stabilize) if stabilize else None)
    fps = result.frames / (time.perf_counter() - start)
    reference = out.with_name(f"reference_{clip.stem}_{max_size}_{encoding.gif_keep_levels}_{encoding.gif_dither}{out.suffix}")
    if not reference.exists():  # shared by every model and variant
        stylize_file(clip, reference, _Identity(), max_size=max_size, encoding=encoding)
    measured = warping_error(reference, out)
    return measured.warping_error, measured.floor, fps, measured.cuts


def low_contrast_frames(clip: Path, max_size: int, below: float) -> int:
    """Frames whose network input (RGB 0-255, alpha flattened, padded as the Stylizer
    pads it) has a contrast under ``below``: those the contrast ramp fades."""
    def contrast(rgb: np.ndarray) -> float:
        return float(input_contrast(pad(torch.from_numpy(rgb).permute(2, 0, 1)[None].float())[0]))

    with VideoSource(clip, max_size=max_size) as source:
        return sum(1 for frame in source.frames() if contrast(flatten_alpha(frame.rgb, frame.alpha)) < below)


class _Identity:
    batch_size = 8

    def __call__(self, frames):
        return [f.copy() for f in frames]


def loss_parts(name: str, photos: int = 8, net: torch.nn.Module | None = None) -> dict[str, float]:
    """Mean content, style and TV losses of model ``name`` (shipped or a path; ``net``, when
    given, in its place with the same card) on its card's held-out photos (256 px, the card's
    loss settings), and each style layer's part of the style loss, its layer weight included
    (``style/LAYER``; they add up to ``style``)."""
    card = read_card(resolve_model(name)[1])
    style = SHARED / "styles" / card["style"]["image"]
    criterion = build_perceptual_loss(options_from_card(card, jitter=0), str(style), torch.device("cpu"))
    layer_weights = {f"style/{layer}": weight for layer, weight in criterion.style_layers.items()}
    net = load_model(name) if net is None else net
    parts = []
    for _, content in held_out_photos(card, photos, 256):
        with torch.no_grad():
            _, p = criterion(stylize_photo(net, content, torch.device("cpu")), content)
        parts.append({k: float(v) * layer_weights.get(k, 1.0) for k, v in p.items() if k != "total"})
    return {k: float(np.mean([p[k] for p in parts])) for k in parts[0]}


def losses_on_photos(name: str, photos: int = 8, net: torch.nn.Module | None = None) -> dict[str, float]:
    parts = loss_parts(name, photos, net)
    return {k: parts[k] for k in ("content", "style")}


def ramp_effect(name: str, stable_name: str, ramp: float, clips: list[Path], frames: dict, base_errors: dict,
                tmp: Path, args, half: bool) -> list[str]:
    """Markdown on what the stable model's contrast ramp does: the clips with frames it
    fades, and there the stable model with the ramp off and the base model with it on."""
    if not ramp:
        return []
    acted = {clip: low_contrast_frames(clip, args.max_size, ramp) for clip in clips}
    acted = {clip: n for clip, n in acted.items() if n}
    if not acted:
        return [f"Contrast ramp ({ramp:g} grey levels, from the stable card): no frame of any clip is below it.\n"]
    off = Stylizer(load_model(stable_name, contrast_ramp=0), "cpu", half=half)
    on = Stylizer(load_model(name, contrast_ramp=ramp), "cpu", half=half)
    parts = []
    for clip, n in acted.items():
        suffix = ".gif" if clip.suffix == ".gif" else ".mkv"
        base = base_errors[clip]
        stable_off = measure(clip, tmp / f"{name}_ramp_off_{clip.stem}{suffix}", off, args.max_size, None)[0]
        base_on = measure(clip, tmp / f"{name}_ramp_on_{clip.stem}{suffix}", on, args.max_size, None)[0]
        parts.append(f"{clip.name} ({n} of {frames[clip]} frames): stable with the ramp off {stable_off:.5f} "
                     f"({stable_off / base:.2f} of base), base with the ramp on {base_on:.5f} ({base_on / base:.2f})")
        print(name, "contrast ramp:", parts[-1], flush=True)
    return [f"Contrast ramp ({ramp:g} grey levels, from the stable card; `run --contrast-ramp`): frames below it "
            f"occur only in " + "; ".join(parts) + ". Every other clip's frames are stylized bit for bit as without "
            "it.\n"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", help="base models (default: every shipped model with a -stable twin)")
    parser.add_argument("--max-size", type=int, default=320)
    parser.add_argument("--stabilize", type=float, default=0.5)
    parser.add_argument("--stable", metavar="MODEL", help="with one MODEL: measure this file as its stable twin")
    parser.add_argument("--quick", action="store_true",
                        help="base and stable only (no --stabilize variants, no contrast-ramp lines); print, "
                        "do not write RESULTS.md")
    parser.add_argument("--only", metavar="CLIP,...", help="with --quick: these clips only (file names, the "
                        "generated ones included, e.g. astronaut_pan.mp4,newtonscradle.gif), to screen candidates")
    args = parser.parse_args()
    models = available_models()
    names = args.models or [n for n in models if f"{n}-stable" in models]
    half = cpu_supports_bf16()
    summary = {}
    command = f"OMP_NUM_THREADS={torch.get_num_threads()} python " + " ".join(["benchmarks/flicker.py"] + sys.argv[1:])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clips = sorted(p for p in MEDIA.iterdir()) + generated_clips(tmp)
        frames = {clip: frame_count(clip) for clip in clips}
        clips = [clip for clip in clips if frames[clip] >= 2]  # flicker needs two frames
        if args.only:
            clips = [clip for clip in clips if clip.name in args.only.split(",")]
        for name in names:
            stable_name = args.stable or f"{name}-stable"
            variants = {"base": (name, None), "stable": (stable_name, None), "base + stabilize": (name, args.stabilize),
                        "stable + stabilize": (stable_name, args.stabilize)}
            if args.quick:
                variants = {k: v for k, v in variants.items() if "stabilize" not in k}
            stylizers = {m: Stylizer(load_model(m), "cpu", half=half) for m in {name, stable_name}}
            rows = ["| clip | frames | floor | base | base / floor | stable | stable / base | base + stabilize | / base | "
                    "stable + stabilize | / base |", "|---|---|---|---|---|---|---|---|---|---|---|"]
            errors = {v: [] for v in variants}
            speed = {v: [] for v in variants}
            for clip in clips:
                n = frames[clip]
                values = {}
                for variant, (model, stabilize) in variants.items():
                    out = tmp / f"{name}_{variant.replace(' ', '').replace('+', '_')}_{clip.stem}{'.gif' if clip.suffix == '.gif' else '.mkv'}"
                    error, floor, fps, cuts = measure(clip, out, stylizers[model], args.max_size, stabilize)
                    values[variant] = (error, floor)
                    errors[variant].append(error)
                    speed[variant].append(fps)
                if args.quick:
                    base, stable = values["base"][0], values["stable"][0]
                    print(f"{name} | {clip.name} | base {base:.5f} | stable {stable:.5f} | stable/base {stable / base:.3f}",
                          flush=True)
                    continue
                base, stab, both = values["base"][0], values["base + stabilize"][0], values["stable + stabilize"][0]
                stable = values["stable"][0]
                rows.append(f"| {clip.name} | {n}{f' ({cuts} cuts)' if cuts else ''} | {values['base'][1]:.5f} | {base:.5f} | {base / values['base'][1]:.1f} | {stable:.5f} | "
                            f"{stable / base:.2f} | {stab:.5f} | {stab / base:.2f} | {both:.5f} | {both / base:.2f} |")
                print(name, rows[-1], flush=True)
            if args.quick:
                ratios = [st / b for st, b in zip(errors["stable"], errors["base"])]
                base_losses, stable_losses = losses_on_photos(name), losses_on_photos(stable_name)
                print(f"{name}: stable/base mean of per-clip ratios {np.mean(ratios):.3f}, worst {max(ratios):.3f}, "
                      f"{sum(r <= 0.5 for r in ratios)} of {len(ratios)} clips at or below 0.5; style loss "
                      f"{100 * (stable_losses['style'] / base_losses['style'] - 1):+.1f} %, content "
                      f"{100 * (stable_losses['content'] / base_losses['content'] - 1):+.1f} %", flush=True)
                continue
            ramp_lines = ramp_effect(name, stable_name, stylizers[stable_name].model.contrast_ramp, clips, frames,
                                     dict(zip(clips, errors["base"])), tmp, args, half)
            mean = {v: float(np.mean(e)) for v, e in errors.items()}
            ratios = [s / b for s, b in zip(errors["stable"], errors["base"])]
            both = [s / b for s, b in zip(errors["stable + stabilize"], errors["base"])]
            base_losses, stable_losses = losses_on_photos(name), losses_on_photos(stable_name)
            summary[name] = {"clips": len(ratios), "mean": mean, "worst_stable_ratio": max(ratios),
                             "clips_at_most_half": sum(r <= 0.5 for r in ratios),
                             "mean_of_ratios": float(np.mean(ratios)),
                             "stable_stabilize_mean_of_ratios": float(np.mean(both)),
                             "stable_stabilize_clips_at_most_half": sum(r <= 0.5 for r in both),
                             "fps": {v: float(np.mean(s)) for v, s in speed.items()},
                             "base_losses": base_losses, "stable_losses": stable_losses}
            rows.append(f"| **mean** | | | {mean['base']:.5f} | | {mean['stable']:.5f} | "
                        f"{mean['stable'] / mean['base']:.2f} | {mean['base + stabilize']:.5f} | "
                        f"{mean['base + stabilize'] / mean['base']:.2f} | {mean['stable + stabilize']:.5f} | "
                        f"{mean['stable + stabilize'] / mean['base']:.2f} |")
            loss_change = {k: 100 * (stable_losses[k] / base_losses[k] - 1) for k in ("content", "style")}
            summary[name]["markdown"] = [f"### {name}\n", f"Command: `{command}` ({datetime.date.today()}).\n", *rows, "",
                         f"Stable/base: mean of per-clip ratios {summary[name]['mean_of_ratios']:.2f}, worst clip "
                         f"{max(ratios):.2f}, {summary[name]['clips_at_most_half']} of {len(ratios)} clips at or below "
                         f"0.5; stable + stabilize over base: mean of per-clip ratios "
                         f"{summary[name]['stable_stabilize_mean_of_ratios']:.2f}, worst clip {max(both):.2f}, "
                         f"{summary[name]['stable_stabilize_clips_at_most_half']} of {len(both)} clips at or below 0.5. "
                         "Frames/s (mean over clips, "
                         f"decode + network + encode, {'bf16' if half else 'fp32'}, --max-size {args.max_size}): "
                         + ", ".join(f"{v} {s:.2f}" for v, s in summary[name]["fps"].items()) + ".\n",
                         f"Held-out photos (8 BSDS500 + 4 scikit-image, 256 px): content loss base "
                         f"{base_losses['content']:.4f} → stable {stable_losses['content']:.4f} ({loss_change['content']:+.1f}%), "
                         f"style loss {base_losses['style']:.4f} → {stable_losses['style']:.4f} ({loss_change['style']:+.1f}%).\n",
                         *ramp_lines]
    if args.quick:
        return
    summary = merge_store(ROOT / "benchmarks" / "flicker.json", summary)  # models of earlier runs stay
    sections = [line for name in sorted(summary) for line in summary[name]["markdown"]]
    write_section("flicker", "\n".join([header("Flicker (`benchmarks/flicker.py`)"),
                                        "Temporal warping error (Lai et al. 2018; RGB in [0, 1]) of each output "
                                        "against the flow of the original at the same size; floor = the original's "
                                        "own error, over every frame pair but scene cuts (left out, and counted "
                                        "beside the frame count: across a cut no flow is right; see "
                                        "videostyle/flicker.py) (base / floor near 1: the flow's own errors make up most of "
                                        "the base model's, and half of it is below what the original video "
                                        "scores); in clips with transparency the mask also drops pixels that "
                                        "are transparent in the original or whose alpha changes along the flow. "
                                        "Generated clips: a virtual camera panning, zooming or shaking "
                                        "over scikit-image sample photos (not training data). The stable models' "
                                        "cards turn on the contrast ramp (4 grey levels), which acts only on the "
                                        "fade from black; the line under each table measures it. Frames/s are wall-clock and "
                                        "depend on what else ran on the machine at the time. Video outputs are written as lossless "
                                        "H.264 (GIF clips as GIFs), so that the error is the model's and a rerun "
                                        "reads the same (at CRF 18 libx264 wrote different streams from the same frames, "
                                        "and bikes.mp4's floor read from 0.00092 to 0.00155).\n", *sections]))


if __name__ == "__main__":
    main()
