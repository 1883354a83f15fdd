"""Stylization speed on this machine: the full TransformerNet, random weights (speed does
not depend on them).

1. frames/s at 256x256, 854x480 and 1280x720, fp32 and bf16, eager, ONNX Runtime and
   ``--compile`` (Stylizer: batches, channels_last), against a naive per-frame loop written the way pytorch/examples
   stylizes images (PIL in, ToTensor().mul(255), one frame per forward, PIL out);
2. end-to-end ``stylize_file`` on a 480p clip against the bare network on the same
   decoded frames, same process, same run (I/O overlap);
3. frames/s of the network sizes a distilled student can have (random weights), and of a
   shipped style against its ``-fast`` model (bare network at 480p/720p, and end to end
   on a 720p clip), each backend, once per architecture among the shipped ``-fast`` models
   (timed on the first style that has it); the latter also go to ``fast_speed.json``, keyed
   by architecture, for the cards;
4. peak memory of 100- and 1000-frame videos of the same size (separate processes; its own
   section, ``pipeline_memory``).

    python benchmarks/pipeline_speed.py [--frames N] [--skip-memory | --memory-only]
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.results import header, machine, write_section  # noqa: E402
from videostyle.config import DistillConfig, default  # noqa: E402
from videostyle.network.devices import cpu_supports_bf16  # noqa: E402
from videostyle.network.models import available_models, load_model  # noqa: E402
from videostyle.network.onnx_backend import onnxruntime_available  # noqa: E402
from videostyle.network.stylize import Stylizer  # noqa: E402
from videostyle.network.transformer_net import TransformerNet  # noqa: E402
from videostyle.pipeline.file import stylize_file  # noqa: E402

SIZES = {"256x256": (256, 256), "854x480": (854, 480), "1280x720": (1280, 720)}
FAST_SPEED = Path(__file__).resolve().parent / "fast_speed.json"
CLIP = Path(__file__).resolve().parents[2] / "shared" / "data" / "media" / "bbb_480p_vp9_opus_1second.webm"


def frames_for(size: tuple[int, int], n: int) -> list[np.ndarray]:
    w, h = size
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (h // 8 + 1, w // 8 + 1, 3), dtype=np.uint8)
    big = np.asarray(Image.fromarray(base).resize((w, h), Image.Resampling.BICUBIC))
    return [np.roll(big, 3 * i, axis=1) for i in range(n)]


def naive_examples_loop(model: TransformerNet, frames: list[np.ndarray]) -> float:
    """pytorch/examples neural_style.stylize(), one frame at a time; returns frames/s."""
    from torchvision import transforms
    to_tensor = transforms.Compose([transforms.ToTensor(), transforms.Lambda(lambda x: x.mul(255))])
    start = time.perf_counter()
    with torch.no_grad():
        for frame in frames:
            content = to_tensor(Image.fromarray(frame)).unsqueeze(0)
            output = model(content).cpu()[0]
            img = output.clone().clamp(0, 255).numpy().transpose(1, 2, 0).astype("uint8")
            Image.fromarray(img)
    return len(frames) / (time.perf_counter() - start)


def stylizer_fps(stylizer: Stylizer, frames: list[np.ndarray]) -> float:
    stylizer(frames[: stylizer.batch_size])  # warm-up (oneDNN picks kernels per shape)
    start = time.perf_counter()
    stylizer(frames)
    return len(frames) / (time.perf_counter() - start)


def decoded_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def compiled_fps(half: bool, frames: list[np.ndarray]) -> tuple[float, float]:
    """(frames/s, seconds the first call took) with ``--compile``."""
    stylizer = Stylizer(TransformerNet().eval(), "cpu", half=half, backend="torch", compile_network=True)
    start = time.perf_counter()
    stylizer(frames[:1])
    first = time.perf_counter() - start
    return stylizer_fps(stylizer, frames), first


def speed_table(n: int) -> str:
    torch.manual_seed(0)
    model = TransformerNet().eval()
    half = cpu_supports_bf16()
    ort = onnxruntime_available()
    rows = ["| size | naive per-frame loop (fp32) | videostyle fp32 | videostyle fp32, ONNX Runtime | "
            "videostyle fp32, `--compile` | videostyle bf16 | videostyle bf16, `--compile` | "
            "speed-up over naive: fp32 / ONNX Runtime / compiled fp32 / bf16 / compiled bf16 |",
            "|---|---|---|---|---|---|---|---|"]
    compile_s = []
    for label, size in SIZES.items():
        count = n if label == "256x256" else max(4, n // 4)
        frames = frames_for(size, count)
        naive_examples_loop(model, frames[:1])
        naive = naive_examples_loop(model, frames)
        fp32 = stylizer_fps(Stylizer(TransformerNet().eval(), "cpu", backend="torch"), frames)
        onnx = stylizer_fps(Stylizer(TransformerNet().eval(), "cpu", backend="onnxruntime"), frames) if ort else float("nan")
        fp32c, first = compiled_fps(False, frames)
        compile_s.append(f"{label} fp32 {first:.0f} s")
        bf16 = stylizer_fps(Stylizer(TransformerNet().eval(), "cpu", half=True), frames) if half else float("nan")
        bf16c = float("nan")
        if half:
            bf16c, first = compiled_fps(True, frames)
            compile_s.append(f"{label} bf16 {first:.0f} s")
        speeds = " / ".join(f"{v / naive:.2f}x" for v in (fp32, onnx, fp32c, bf16, bf16c))
        rows.append(f"| {label} ({count} frames) | {naive:.2f} | {fp32:.2f} | {onnx:.2f} | {fp32c:.2f} | {bf16:.2f} | "
                    f"{bf16c:.2f} | {speeds} |")
        print(rows[-1], flush=True)
    rows += ["", "First call with `--compile` (the compiler's wait): " + "; ".join(compile_s) + ". torch "
             "recompiles with dynamic shapes at the second frame size it sees, so later sizes wait little."]
    return "\n".join(rows)


FULL = (32, 5, 9)
SHAPES = [FULL, (24, 3, 5), (16, 3, 5), (16, 3, 9), (12, 3, 5), (10, 3, 5), (8, 5, 5), (8, 3, 5)]
_DISTILL = tuple(default(DistillConfig, name) for name in ("channels", "residual_blocks", "end_kernel"))


def shape_label(shape: tuple[int, int, int]) -> str:
    """The table's name for a shape (channels, residual blocks, end kernel), such as
    ``8, 5, 5x5``; the full network and distill's default shape say so."""
    channels, blocks, kernel = shape
    label = f"{channels}, {blocks}, {kernel}x{kernel}"
    if shape == FULL:
        label = f"full ({label})"
    return label + (" (distill default)" if shape == _DISTILL else "")


STUDENTS = {shape_label(shape): shape for shape in SHAPES}


def cpu_backends() -> list[tuple[str, bool, str]]:
    """(label, half, backend) of what can run here: torch fp32, ONNX Runtime fp32 where
    it is installed, torch bf16 where the CPU has native bf16."""
    backends = [("torch fp32", False, "torch")]
    if onnxruntime_available():
        backends.append(("ONNX Runtime fp32", False, "onnxruntime"))
    if cpu_supports_bf16():
        backends.append(("torch bf16", True, "torch"))
    return backends


def student_table(frames_per_size: int = 8) -> str:
    """frames/s of network sizes (channels, residual blocks, end kernel) a student can
    have, with each backend, at 854x480 and 1280x720, and the speed-up over the full net."""
    backends = cpu_backends()
    sizes = {k: v for k, v in SIZES.items() if k != "256x256"}
    rows = ["| network (channels, blocks, end kernel) | " + " | ".join(f"{s} {b[0]}" for s in sizes for b in backends)
            + " |", "|---|" + "---|" * (len(sizes) * len(backends))]
    full = {}
    for label, (channels, blocks, kernel) in STUDENTS.items():
        cells = []
        for size_label, size in sizes.items():
            frames = frames_for(size, frames_per_size)
            for name, half, backend in backends:
                torch.manual_seed(0)
                net = TransformerNet(channels, blocks, end_kernel=kernel).eval()
                fps = stylizer_fps(Stylizer(net, "cpu", half=half, backend=backend), frames)
                full.setdefault((size_label, name), fps)
                cells.append(f"{fps:.2f} ({fps / full[(size_label, name)]:.1f}x)")
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
        print(rows[-1], flush=True)
    return "\n".join(rows)


def conversion_table(repeats: int = 10) -> str:
    """Milliseconds per frame to convert 4:2:0 to RGB and back: libswscale (what the CPU
    path uses) against videostyle.network.yuv in torch on the CPU (what a GPU runs)."""
    from videostyle.network.yuv import rgb_to_yuv420, yuv420_to_rgb
    rows = ["| size | swscale YUV->RGB | torch YUV->RGB | swscale RGB->YUV | torch RGB->YUV |", "|---|---|---|---|---|"]
    for label, (w, h) in SIZES.items():
        rgb = frames_for((w, h), 1)[0]
        yuv = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
        y, u, v = (torch.from_numpy(np.frombuffer(bytes(p), np.uint8).reshape(-1, p.line_size)[:, :p.width].copy())[None]
                   for p in yuv.planes)
        tensor = torch.from_numpy(rgb).permute(2, 0, 1)[None].float()

        def ms(fn) -> float:
            fn()
            start = time.perf_counter()
            for _ in range(repeats):
                fn()
            return 1000 * (time.perf_counter() - start) / repeats
        cells = [ms(lambda: yuv.reformat(format="rgb24").to_ndarray()),
                 ms(lambda: yuv420_to_rgb(y, u, v).round().byte().numpy()),
                 ms(lambda: av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")),
                 ms(lambda: rgb_to_yuv420(tensor))]
        rows.append(f"| {label} | " + " | ".join(f"{c:.1f} ms" for c in cells) + " |")
        print(rows[-1], flush=True)
    return "\n".join(rows)


def overlap_table() -> str:
    frames = decoded_frames(CLIP)
    rows = ["| precision | bare network frames/s | `stylize_file` end to end frames/s | ratio |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for half, backend in ((False, "torch"), (False, "onnxruntime"), (True, "torch")):
            if (half and not cpu_supports_bf16()) or (backend == "onnxruntime" and not onnxruntime_available()):
                continue
            stylizer = Stylizer(TransformerNet().eval(), "cpu", half=half, backend=backend)
            bare = stylizer_fps(stylizer, frames)
            start = time.perf_counter()
            result = stylize_file(CLIP, Path(tmp) / "out.webm", stylizer)
            e2e = result.frames / (time.perf_counter() - start)
            rows.append(f"| {'bf16' if half else 'fp32'}{', ONNX Runtime' if backend == 'onnxruntime' else ''} | {bare:.3f} | {e2e:.3f} | {e2e / bare:.3f} |")
            print(rows[-1], flush=True)
    return "\n".join(rows)


def architecture_label(architecture: dict) -> str:
    """The key of a ``-fast`` architecture in ``fast_speed.json`` (a card's ``architecture``)."""
    kernel = architecture.get("end_kernel", 9)
    return f"{architecture['channels']} channels, {architecture['residual_blocks']} residual blocks, " \
           f"{kernel}x{kernel} end"


def fast_architectures(only_style: str | None = None) -> dict[str, str]:
    """Each architecture among the shipped ``-fast`` models, with the style timed for it
    (the first in name order, or ``only_style``'s)."""
    chosen: dict[str, str] = {}
    for name, info in sorted(available_models().items()):
        if name.endswith("-fast") and (only_style is None or name == f"{only_style}-fast"):
            chosen.setdefault(architecture_label(info.card["architecture"]), name.removesuffix("-fast"))
    return chosen


def fast_model_table(style: str, frames_720p: int = 48) -> tuple[str, dict]:
    """A shipped style and its ``-fast`` model: the bare network at 854x480 and 1280x720 and
    ``stylize_file`` end to end on a generated 1280x720 H.264 + AAC clip, each backend.
    Returns the table and the fast model's numbers (for its card)."""
    backends = cpu_backends()
    sizes = {k: v for k, v in SIZES.items() if k != "256x256"}
    columns = [f"{s} network" for s in sizes] + [f"1280x720 clip end to end ({frames_720p} frames)"]
    rows = ["| model | backend | " + " | ".join(columns) + " |", "|---|---|" + "---|" * len(columns)]
    full, card = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip720.mp4"
        make_clip(clip, frames_720p, size=(1280, 720))
        for name in (style, f"{style}-fast"):
            # the fast network's frames take a few ms each: 16 of them, so that one slow call weighs less
            count = 16 if name.endswith("-fast") else 4
            for label, half, backend in backends:
                cells = [stylizer_fps(Stylizer(load_model(name), "cpu", half=half, backend=backend), frames_for(size, count))
                         for size in sizes.values()]
                stylizer = Stylizer(load_model(name), "cpu", half=half, backend=backend)
                start = time.perf_counter()
                done = stylize_file(clip, Path(tmp) / "out.mp4", stylizer).frames
                cells.append(done / (time.perf_counter() - start))
                for column, fps in zip(columns, cells):
                    full.setdefault((label, column), fps)
                    if name.endswith("-fast"):
                        card.setdefault(label, {})[column] = {"frames_per_s": round(fps, 2),
                                                              "over_full": round(fps / full[(label, column)], 2)}
                rows.append(f"| {name} | {label} | " + " | ".join(
                    f"{fps:.2f} ({fps / full[(label, column)]:.1f}x)" for column, fps in zip(columns, cells)) + " |")
                print(rows[-1], flush=True)
    return "\n".join(rows), card


# The child's own high-water mark (VmHWM, its address space's): ru_maxrss would not do,
# since Linux carries it over exec from the forked parent, and this script's parent had
# grown to 3.4 GB by the time it measured: both clips read 3446 MiB, a copy of the
# parent's size rather than the pipeline's.
MEMORY_CHILD = r"""
import re, sys, torch
sys.path.insert(0, {root!r})
from videostyle.network.stylize import Stylizer
from videostyle.network.transformer_net import TransformerNet
from videostyle.pipeline.file import stylize_file
torch.manual_seed(0)
stylize_file({src!r}, {dst!r}, Stylizer(TransformerNet().eval(), "cpu", half={half}))
print(re.search(r"VmHWM:\s+(\d+) kB", open("/proc/self/status").read()).group(1))
"""


def make_clip(path: Path, frames: int, size=(320, 240)) -> None:
    w, h = size
    base = frames_for(size, 1)[0]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        audio = out.add_stream("aac", rate=44100)
        audio.layout = "mono"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.roll(base, 2 * i, axis=1), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, 25)
            for p in stream.encode(frame):
                out.mux(p)
        for p in stream.encode():
            out.mux(p)
        samples = frames * 44100 // 25
        for start in range(0, samples, 1024):
            a = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            a.sample_rate, a.pts = 44100, start
            for p in audio.encode(a):
                out.mux(p)
        for p in audio.encode():
            out.mux(p)


def memory_table() -> str:
    root = str(Path(__file__).resolve().parents[1])
    rows = ["| frames (320x240, H.264 + AAC) | peak RSS MiB | wall s |", "|---|---|---|"]
    peaks = {}
    with tempfile.TemporaryDirectory() as tmp:
        for frames in (100, 1000):
            src = Path(tmp) / f"clip{frames}.mp4"
            make_clip(src, frames)
            code = MEMORY_CHILD.format(root=root, src=str(src), dst=str(Path(tmp) / f"out{frames}.mp4"),
                                       half=cpu_supports_bf16())
            start = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            peaks[frames] = int(out.stdout.strip().splitlines()[-1]) / 1024
            rows.append(f"| {frames} | {peaks[frames]:.0f} | {time.perf_counter() - start:.0f} |")
            print(rows[-1], flush=True)
    rows.append(f"\n1000 frames use {100 * (peaks[1000] / peaks[100] - 1):+.1f}% peak memory relative to 100 frames.")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=16, help="frames per size at 256x256 (a quarter at 480p/720p)")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-only", action="store_true", help="only the memory section")
    parser.add_argument("--skip-students", action="store_true")
    parser.add_argument("--fast-style", help="time only this style's -fast model (default: one style per "
                                             "-fast architecture; models of the same architecture run alike)")
    args = parser.parse_args()
    if args.memory_only:
        write_memory()
        return
    parts = [header("Stylization speed (`benchmarks/pipeline_speed.py`)"),
             "Full TransformerNet (32 channels, 5 residual blocks), random weights. videostyle's CPU "
             "defaults: one frame per network call, NCHW for fp32, channels_last for bf16 (batches of 4 and "
             "channels_last in fp32 measured slower on this CPU in a separate, earlier comparison that this script does not repeat: 480p fp32 0.95 s/frame at batch 1 NCHW, "
             "1.19 at batch 4, 1.16 with channels_last).\n",
             "### frames/s by size\n", speed_table(args.frames), "",
             f"### I/O overlap: `{CLIP.name}` (854x480 VP9 + 5.1 Opus, 24 frames)\n", overlap_table(), ""]
    parts += ["### Colour conversion on the CPU: libswscale against torch (`videostyle.network.yuv`, the GPU "
              "path)\n", conversion_table(), ""]
    if not args.skip_students:
        parts += ["### Network sizes for fast students (frames/s, random weights; in brackets: over the full "
                  "network with the same backend)\n", student_table(), ""]
    timed = {}
    for label, style in fast_architectures(args.fast_style).items():
        table, fast = fast_model_table(style)
        parts += [f"### Shipped full and fast models: {style}-fast, {label} (frames/s; in brackets: over the "
                  "full model with the same backend; every -fast model of this architecture runs alike)\n",
                  table, ""]
        timed[label] = {"timed_model": f"{style}-fast", "frames_per_s": fast}
    if timed:
        # for the -fast cards (benchmarks/model_cards.py); architectures not timed now keep their rows
        earlier = json.loads(FAST_SPEED.read_text()).get("architectures", {}) if FAST_SPEED.exists() else {}
        FAST_SPEED.write_text(json.dumps({"machine": machine(), "date": datetime.date.today().isoformat(),
                                          "measured_by": "benchmarks/pipeline_speed.py (see benchmarks/RESULTS.md)",
                                          "architectures": {**earlier, **timed}}, indent=2) + "\n")
    write_section("pipeline_speed", "\n".join(parts))
    if not args.skip_memory:
        write_memory()


def write_memory() -> None:
    write_section("pipeline_memory", "\n".join([
        header("Memory of a long video (`benchmarks/pipeline_speed.py`)"),
        "Peak resident memory (the child process's VmHWM) of `stylize_file` with the full network, bf16 where the "
        "CPU has it, each clip in its own process.\n", memory_table()]))


if __name__ == "__main__":
    main()
