"""The whole GPU picture in one call of under 8 minutes (writes RESULTS.md section ``gpu``).

1. Bare network frames/s: 480p/720p/1080p/2160p x fp32/bf16/fp16 x batch 1/8/16 (uint8
   frames already on the device; combinations that do not fit in memory are marked so),
   ``--compile`` against eager at 1080p,
   and bf16/fp16 output PSNR against fp32 for every shipped model.
2. Decode-only and encode-only frames/s on a generated 1080p 240-frame H.264 + AAC clip:
   PyAV decode to RGB; libx264 ``medium`` and ``veryfast``; ``h264_nvenc``.
3. End-to-end ``videostyle run`` on that clip with each encoder, and with colour
   converted on the device (4:2:0 planes across the bus) against swscale on the CPU.
4. ``videostyle train`` seconds per step at batch 4 and 16 (256-px crops, random VGG-16
   loss network: its cost is that of the real one).

On a machine without CUDA it says so and exits 0; ``--smoke`` runs every part on the CPU
at toy sizes instead, so that the script is known to work before GPU time is spent.

    python benchmarks/gpu.py [--smoke]

On the device machine PyAV is missing. Its wheel (``pip download --no-deps
--only-binary=:all: --python-version 3.12 ... -d .whl av==18.1.0``, 36 MB) and this
repository (47 MB) together exceed what the device tool carries (64 MiB). Without PyAV
the script measures the network, the precisions and training, and says that it left
out decoding, encoding and end to end.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.results import header, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Plan:
    device: str
    sizes: dict[str, tuple[int, int]]
    dtypes: tuple[str, ...]
    batches: tuple[int, ...]
    clip_size: tuple[int, int]
    clip_frames: int
    train_steps: int
    train_batches: tuple[int, ...]
    seconds_per_point: float


GPU = Plan("cuda", {"480p": (854, 480), "720p": (1280, 720), "1080p": (1920, 1080), "2160p": (3840, 2160)},
           ("fp32", "bf16", "fp16"), (1, 8, 16), (1920, 1080), 240, 12, (4, 16), 1.5)
SMOKE = Plan("cpu", {"toy": (96, 64)}, ("fp32",), (1, 2), (96, 64), 8, 2, (2,), 0.1)
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def network_fps(plan: Plan, device: torch.device) -> list[str]:
    from videostyle.network.models import load_model
    from videostyle.network.stylize import Stylizer
    rows = ["| size | precision | batch 1 | " + " | ".join(f"batch {b}" for b in plan.batches[1:]) + " |",
            "|---|---|" + "---|" * len(plan.batches)]
    for label, (w, h) in plan.sizes.items():
        for name in plan.dtypes:
            cells = []
            for batch in plan.batches:
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                try:
                    stylizer = Stylizer(load_model("mosaic"), plan.device, batch, half=name != "fp32", backend="torch")
                    stylizer.dtype = DTYPES[name]
                    stylizer.model = stylizer.model.to(DTYPES[name])
                    frames = torch.randint(0, 256, (batch, 3, h, w), dtype=torch.uint8, device=device)
                    stylizer.tensor(frames.float())  # warm-up: cuDNN picks its algorithms
                    sync(device)
                    done, start = 0, time.perf_counter()
                    while time.perf_counter() - start < plan.seconds_per_point:
                        stylizer.tensor(frames.float()).round().to(torch.uint8)
                        sync(device)
                        done += batch
                    cells.append(f"{done / (time.perf_counter() - start):.1f}")
                except torch.OutOfMemoryError:
                    cells.append("does not fit")
                except Exception as error:  # e.g. a precision the device lacks
                    cells.append(f"fails ({type(error).__name__})")
            rows.append(f"| {label} {w}x{h} | {name} | " + " | ".join(cells) + " |")
            print(rows[-1], flush=True)
    rows += ["", *compiled_fps(plan, device)]
    return rows


def compiled_fps(plan: Plan, device: torch.device) -> list[str]:
    """``--compile`` against eager at the largest batch, 1080p (toy size in --smoke), in
    the default precision: is it worth offering as more than an opt-in?"""
    from videostyle.network.models import load_model
    from videostyle.network.stylize import Stylizer
    label = "1080p" if "1080p" in plan.sizes else next(iter(plan.sizes))
    w, h = plan.sizes[label]
    batch = plan.batches[-1]
    frames = torch.randint(0, 256, (batch, 3, h, w), dtype=torch.uint8, device=device).float()
    lines = []
    for compiled in (False, True):
        try:
            stylizer = Stylizer(load_model("mosaic"), plan.device, batch, half=None, backend="torch",
                                compile_network=compiled)
            start = time.perf_counter()
            stylizer.tensor(frames)
            sync(device)
            first = time.perf_counter() - start
            done, start = 0, time.perf_counter()
            while time.perf_counter() - start < 2 * plan.seconds_per_point:
                stylizer.tensor(frames)
                sync(device)
                done += batch
            lines.append(f"- {'torch.compile' if compiled else 'eager'}, {label}, batch {batch}, "
                         f"{stylizer.dtype}: {done / (time.perf_counter() - start):.1f} frames/s "
                         f"(first call {first:.1f} s)")
        except Exception as error:
            lines.append(f"- {'torch.compile' if compiled else 'eager'}: fails ({type(error).__name__}: {error})"[:300])
        print(lines[-1], flush=True)
    return lines


def precision_psnr(device: torch.device, dtypes: tuple[str, ...]) -> list[str]:
    """Output PSNR of each reduced precision against fp32, every shipped model, 720p photo."""
    from skimage import data

    from videostyle.network.models import available_models, load_model
    from videostyle.network.stylize import Stylizer
    image = np.asarray(torch.nn.functional.interpolate(
        torch.from_numpy(data.astronaut()).permute(2, 0, 1)[None].float(), size=(720, 720), mode="area")
        [0].permute(1, 2, 0).round().byte())
    lines = []
    for model in available_models():
        reference = Stylizer(load_model(model), device.type, half=False, backend="torch")([image])[0].astype(float)
        for name in dtypes:
            if name == "fp32":
                continue
            stylizer = Stylizer(load_model(model), device.type, half=False, backend="torch")
            stylizer.dtype, stylizer.model = DTYPES[name], stylizer.model.to(DTYPES[name])
            out = stylizer([image])[0].astype(float)
            mse = max(float(((out - reference) ** 2).mean()), 1e-12)
            lines.append(f"{model} {name}: {10 * np.log10(255 ** 2 / mse):.1f} dB")
    return lines


def make_clip(path: Path, size: tuple[int, int], frames: int) -> None:
    """H.264 + AAC, a moving gradient (cheap to generate, not trivially compressible)."""
    import av
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=24)
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        video.codec_context.options = {"preset": "ultrafast", "crf": "20"}
        audio = out.add_stream("aac", rate=48000)
        audio.layout = "stereo"
        samples = 1024
        for i in range(frames):
            rgb = np.stack([(xx + 7 * i) % 256, (yy + 3 * i) % 256, ((xx + yy) // 2 + 5 * i) % 256], -1).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            for packet in video.encode(frame):
                out.mux(packet)
        for j in range(frames * 2):  # 24 fps x 2 = 48000 / 1024 audio frames/s, near enough
            tone = (0.1 * np.sin(np.arange(samples) * 0.05 + j)).astype(np.float32)
            frame = av.AudioFrame.from_ndarray(np.stack([tone, tone])[None].reshape(1, -1), format="flt",
                                               layout="stereo")
            frame.sample_rate, frame.pts = 48000, j * samples
            for packet in audio.encode(frame):
                out.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode(None):
                out.mux(packet)


def codec_speed(clip: Path, tmp: Path) -> list[str]:
    from videostyle.media.decode import VideoSource
    from videostyle.media.encode import VideoEncoding, VideoSink
    from videostyle.media.nvenc import opens
    lines = []
    start = time.perf_counter()
    # the sinks copy the source's audio stream, so the source stays open while they write
    with VideoSource(clip) as source:
        frames = [frame for frame in source.frames()]
        info = source.info
        lines.append(f"decode to RGB: {len(frames) / (time.perf_counter() - start):.1f} frames/s")
        for codec, preset in (("libx264", "medium"), ("libx264", "veryfast"), ("h264_nvenc", None)):
            if codec == "h264_nvenc" and opens(codec):
                lines.append(f"{codec}: cannot open here ({opens(codec)})")
                continue
            out = tmp / f"encode_{codec}_{preset}.mp4"
            start = time.perf_counter()
            sink = VideoSink(out, out, info, info.frame_size, VideoEncoding(codec=codec, preset=preset))
            for frame in frames:
                sink.write_frame(frame, frame.rgb)
            sink.close()
            lines.append(f"encode {codec} {preset or 'p5'}: {len(frames) / (time.perf_counter() - start):.1f} "
                         "frames/s")
    return lines


def end_to_end(clip: Path, tmp: Path, plan: Plan, frames: int) -> list[str]:
    from videostyle.config import RunConfig
    from videostyle.media.encode import VideoEncoding
    from videostyle.network.models import load_model
    from videostyle.network.stylize import Stylizer
    from videostyle.pipeline.file import stylize_file
    from videostyle.pipeline.jobs import run
    lines = []
    for label, codec, preset in (("auto (NVENC where it opens)", None, None), ("libx264 medium", "libx264", None),
                                 ("libx264 veryfast", "libx264", "veryfast")):
        out = tmp / f"e2e_{codec}_{preset}.mp4"
        start = time.perf_counter()
        summary = run(RunConfig(inputs=(str(clip),), output=str(out), device=plan.device, codec=codec, preset=preset,
                                overwrite=True))
        seconds = time.perf_counter() - start
        lines.append(f"`videostyle run` {label}: {frames / seconds:.1f} frames/s ({seconds:.1f} s, "
                     f"{'ok' if summary.ok else 'FAILED'})")
        print(lines[-1], flush=True)
    # the same run (library call, default batch and precision) with colour converted on
    # the device (the default on CUDA) and by swscale on the CPU
    for on_device in (True, False):
        stylizer = Stylizer(load_model("mosaic"), plan.device, half=None, colour_on_device=on_device)
        start = time.perf_counter()
        stylize_file(clip, tmp / f"colour_{on_device}.mp4", stylizer, encoding=VideoEncoding(hardware=True))
        seconds = time.perf_counter() - start
        lines.append(f"`stylize_file`, NVENC where it opens, colour {'on the device' if on_device else 'by swscale'}: "
                     f"{frames / seconds:.1f} frames/s ({seconds:.1f} s)")
        print(lines[-1], flush=True)
    return lines


def train_speed(tmp: Path, plan: Plan) -> list[str]:
    from PIL import Image

    from videostyle.config import TrainConfig
    from videostyle.training.train import train
    photos = tmp / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(24):
        Image.fromarray(rng.integers(0, 256, (320, 400, 3), dtype=np.uint8)).save(photos / f"{i}.jpg")
    style = tmp / "style.jpg"
    Image.fromarray(rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)).save(style)
    lines = []
    for batch in plan.train_batches:
        config = TrainConfig(style=str(style), data=str(photos), out=str(tmp / f"t{batch}.pth"), loss_net="vgg16",
                             pretrained_loss_net=False, image_size=256 if plan.device == "cuda" else 64,
                             batch_size=batch, iterations=plan.train_steps, device=plan.device, eval_every=0,
                             sample_every=10_000, checkpoint_every=10_000, holdout=4)
        times = []
        last = [time.perf_counter()]

        def tick(done, total, parts):
            now = time.perf_counter()
            times.append(now - last[0])
            last[0] = now
        train(config, tick)
        steady = times[2:] or times
        lines.append(f"`videostyle train` batch {batch}, {config.image_size}-px crops, VGG-16: "
                     f"{np.median(steady):.3f} s/step")
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="every part on the CPU at toy sizes; writes nothing")
    args = parser.parse_args()
    if args.smoke:
        plan = SMOKE
    elif torch.cuda.is_available():
        plan = GPU
    else:
        print("no CUDA GPU here: benchmarks/gpu.py measures GPUs only (--smoke checks the script on the CPU)")
        return
    device = torch.device(plan.device)
    begin = time.perf_counter()
    sections = ["### Bare network (frames/s, uint8 frames on the device, `Stylizer.tensor`)\n", *network_fps(plan, device)]
    dtypes = plan.dtypes if device.type == "cuda" else ()
    sections += ["", "Reduced precision against fp32 (output PSNR, 720x720 photo): "
                 + ("; ".join(precision_psnr(device, dtypes)) or "not measured") + ".\n"]
    try:
        import av  # noqa: F401
        media = True
    except ImportError:
        media = False
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if media:
            clip = tmp / "clip.mp4"
            make_clip(clip, plan.clip_size, plan.clip_frames)
            sections += [f"### Decode and encode alone ({plan.clip_size[0]}x{plan.clip_size[1]}, {plan.clip_frames} "
                         "frames, H.264 + AAC)\n", *[f"- {line}" for line in codec_speed(clip, tmp)], ""]
            sections += ["### End to end\n", *[f"- {line}" for line in end_to_end(clip, tmp, plan, plan.clip_frames)],
                         ""]
        else:
            sections += ["PyAV is not installed here: decoding, encoding and end to end not measured.\n"]
        sections += ["### Training\n", *[f"- {line}" for line in train_speed(tmp, plan)], ""]
    sections.append(f"Whole script: {time.perf_counter() - begin:.0f} s.")
    text = "\n".join([header("GPU (`benchmarks/gpu.py`)"), *sections])
    if args.smoke:
        print(text)
    else:
        write_section("gpu", text)


if __name__ == "__main__":
    main()
