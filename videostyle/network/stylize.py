"""Running the transform network on frames: batching, padding, devices, precision, and
frames larger than memory.

Frames are (H, W, 3) uint8 arrays. They are reflection-padded to a multiple of 4 (the
network halves the size twice and doubles it back) and at least 16 pixels, run in
batches on the chosen device, and cropped back — the picture is never shifted. A frame
that would not fit in the device's memory runs in tiles (:mod:`.tiling`); ``style_scale``
runs the network on a resized copy and resizes the result back, which sets the size of
the strokes independently of the output's size.
"""

from __future__ import annotations

import logging
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..config import BACKENDS
from ..errors import ConfigError, DeviceError
from .devices import half_dtype, native_half_dtype, resolve_device
from .memory import check_frame_fits, fits_in_tiles
from .onnx_backend import OnnxNetwork, onnxruntime_available
from .padding import MIN_SIDE, pad
from .tiling import TILE, stylize_tiled
from .transfer import Pending, Transfer
from .transformer_net import TransformerNet
from .yuv import rgb_to_yuv420, yuv420_to_rgb

Planes = tuple[np.ndarray, np.ndarray, np.ndarray]  # as videostyle.media.planes (not imported: no PyAV here)

log = logging.getLogger(__name__)



def choose_backend(backend: str, device: torch.device, dtype: torch.dtype) -> str:
    """The backend ``backend`` means here; ConfigError where it cannot run."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    cpu_fp32 = device.type == "cpu" and dtype == torch.float32
    if backend == "auto":
        chosen = "onnxruntime" if cpu_fp32 and onnxruntime_available() else "torch"
        log.info("network backend: %s", chosen)
        return chosen
    if backend == "onnxruntime" and not cpu_fp32:
        raise ConfigError("--backend onnxruntime runs fp32 on the CPU; drop --half and use --device cpu, "
                          "or --backend torch")
    return backend


def default_batch_size(device: torch.device) -> int:
    """Frames per network call: 1 on CPUs (measured fastest: batching only adds memory
    traffic there, see benchmarks/RESULTS.md), 8 on GPUs."""
    return 1 if device.type == "cpu" else 8


class Stylizer:
    """Callable: a list of equally sized uint8 frames in, the stylized frames out.

    ``batch_size``: frames per network call (None: :func:`default_batch_size`).
    ``half=True`` runs in bf16 (CPU with native bf16, CUDA with bf16) or fp16 (other
    CUDA GPUs, MPS); where neither is native a DeviceError says so. ``half=None``: half on
    CUDA GPUs and on CPUs with native bf16 (outputs within 54 dB PSNR of fp32 for the
    shipped models, measured on a CPU in bf16; benchmarks/gpu.py checks it on the GPU),
    fp32 elsewhere. Memory layout:
    channels_last on CUDA and for bf16 on the CPU, where it is faster; NCHW for fp32 on
    the CPU, where channels_last measured slower.

    Size: ``max_pixels`` is the largest frame run whole (None: what the device's memory
    holds, :mod:`.memory`); larger frames run in tiles of ``tile`` px (None: the largest
    that fit). ``style_scale`` (e.g. 0.5: strokes twice as large) runs the network on the
    frame resized by that factor.

    Colour: ``colour_on_device`` (None: on CUDA) lets video pipelines hand over 4:2:0
    planes (:meth:`submit_planes`) to convert on the device instead of RGB.
    ``compile_network`` runs the network through ``torch.compile`` (torch backend only).
    """

    def __init__(self, model: TransformerNet, device: str = "auto", batch_size: int | None = None,
                 half: bool | None = False, max_pixels: int | None = None, tile: int | None = None,
                 style_scale: float = 1.0, backend: str = "torch", colour_on_device: bool | None = None,
                 compile_network: bool = False):
        self.device = resolve_device(device)
        self.max_pixels = max_pixels
        self.tile = tile
        if not 0.05 <= style_scale <= 8:
            raise ConfigError(f"style scale must be between 0.05 and 8, got {style_scale}")
        self.style_scale = style_scale
        self._plans: dict[tuple[int, int, int], int | None] = {}
        self.batch_size = batch_size or default_batch_size(self.device)
        if half is None:  # where the device computes it natively: 2-3x the frames/s, outputs within 54 dB
            half = self.device.type == "cuda" or (self.device.type == "cpu" and native_half_dtype(self.device) is not None)
        try:
            self.dtype = half_dtype(self.device) if half else torch.float32
        except DeviceError as error:
            raise DeviceError(f"{error.reason}; drop --half") from error
        self.model = model.to(self.device).eval().requires_grad_(False)
        self.channels_last = self.device.type == "cuda" or (self.device.type == "cpu" and self.dtype == torch.bfloat16)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.model = self.model.to(self.dtype)
        self.backend = choose_backend(backend, self.device, self.dtype)
        self._onnx = OnnxNetwork(self.model) if self.backend == "onnxruntime" else None
        if compile_network:
            if self.backend != "torch":
                raise ConfigError("--compile compiles the torch backend; add --backend torch")
            # opt-in: the first frame waits for the compiler (18-19 s at 480p on a 2-core Xeon;
            # later sizes reuse dynamic-shape kernels), which only long clips win back
            self.model = torch.compile(self.model)
            # on a CPU the compiler's C++ toolchain says it found no CUDA, which is no news here
            logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
        self.compiled = compile_network
        self.hints: list[str] = []  # what else would be quicker, from whoever chose the model
        self.transfer = Transfer(self.device)
        # None: on GPUs, where it halves the bytes on the bus and frees the CPU of two
        # swscale passes a frame; on CPUs swscale's SIMD code converts faster
        # (benchmarks/RESULTS.md, pipeline_speed)
        self.colour_on_device = self.device.type == "cuda" if colour_on_device is None else colour_on_device

    def _network_size(self, width: int, height: int) -> tuple[int, int]:
        if self.style_scale == 1.0:
            return width, height
        return max(1, round(width * self.style_scale)), max(1, round(height * self.style_scale))

    def tile_for(self, width: int, height: int, batch: int | None = None) -> int | None:
        """The tile side frames of this size run in (None: whole), decided once per size;
        DeviceError when even tiles would not fit."""
        key = (width, height, batch or self.batch_size)
        if key not in self._plans:
            w, h = self._network_size(width, height)
            channels = getattr(self.model, "architecture", {}).get("channels", 32)
            if self.tile:
                check_frame_fits(self.tile, self.tile, self.device, self.dtype, 1, channels, self.max_pixels)
                self._plans[key] = self.tile
            else:
                try:
                    check_frame_fits(w, h, self.device, self.dtype, key[2], channels, self.max_pixels)
                    self._plans[key] = None
                except DeviceError:
                    # too large to run whole: in tiles, when the frame's tiled run fits
                    if self.max_pixels or not fits_in_tiles(w, h, self.device, self.dtype, channels):
                        raise
                    self._plans[key] = TILE
                    log.info("%dx%d frames run in tiles of %d px (too large to run whole here)", w, h, TILE)
        return self._plans[key]

    def speed_hints(self) -> list[str]:
        """What would make this stylizer quicker here, for the long-wait line."""
        hints = list(self.hints)
        if self.device.type == "cpu" and self.dtype == torch.float32 and native_half_dtype(self.device):
            hints.append("dropping --fp32 (this CPU has native bf16)")
        if self.device.type == "cpu" and self.backend == "torch" and not self.compiled:
            hints.append("--compile (after about 20 s of compiling; needs a C++ compiler)")
        fp32_torch = self.device.type == "cpu" and self.backend == "torch" and self.dtype == torch.float32
        if fp32_torch and onnxruntime_available():
            hints.append("--backend onnxruntime")
        elif fp32_torch:
            hints.append("pip install 'videostyle[onnx]' for the ONNX Runtime backend")
        return hints

    def check_size(self, width: int, height: int, batch: int | None = None) -> None:
        """DeviceError (with the size, the limit and the --max-size that fits) when frames of
        this size cannot be stylized here, whole or in tiles."""
        self.tile_for(width, height, batch)

    @torch.no_grad()
    def tensor(self, batch: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) float 0–255 on any device -> stylized, same size, clamped 0–255, fp32."""
        h, w = batch.shape[-2:]
        tile = self.tile_for(w, h, batch.shape[0])
        x = batch.to(self.device, torch.float32)
        if self.style_scale != 1.0:
            nw, nh = self._network_size(w, h)
            mode = "area" if self.style_scale < 1 else "bicubic"
            x = F.interpolate(x, size=(nh, nw), mode=mode, **({} if mode == "area" else {"align_corners": False}))
        if tile is None:
            y = self._whole(x)
        else:
            y = torch.cat([self._tiled(frame[None], tile) for frame in x])
        if self.style_scale != 1.0:
            y = F.interpolate(y.float(), size=(h, w), mode="bicubic", align_corners=False)
        return y.float().clamp_(0, 255)

    def _layout(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.dtype)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def _tiled(self, x: torch.Tensor, tile: int) -> torch.Tensor:
        x, (h, w) = pad(x)
        return stylize_tiled(self.model, self._layout(x), tile)[..., :h, :w]

    def _whole(self, x: torch.Tensor) -> torch.Tensor:
        if self._onnx is not None and min(x.shape[-2:]) >= MIN_SIDE:
            return self._onnx(x)  # pads, crops and clamps inside its graph
        x, (h, w) = pad(x)
        return self.model(self._layout(x))[..., :h, :w]

    def __call__(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Stylized copies of equally sized (H, W, 3) uint8 ``frames``."""
        return self.submit(frames).result()

    @torch.no_grad()
    def submit(self, frames: Sequence[np.ndarray]) -> "Submitted":
        """Start stylizing ``frames``; on CUDA this returns before the GPU is done, so the
        caller can submit the next batch while this one runs (:mod:`.transfer`)."""
        def work(chunk: torch.Tensor) -> list[torch.Tensor]:
            y = self.tensor(chunk.permute(0, 3, 1, 2).float())
            return [y.round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()]

        return Submitted([self.transfer.run([np.stack(frames[i:i + self.batch_size])], work)
                          for i in range(0, len(frames), self.batch_size)],
                         lambda arrays: [np.ascontiguousarray(a) for a in arrays[0]])

    @torch.no_grad()
    def submit_planes(self, planes: Sequence[Planes], matrix: str = "bt601", full_range: bool = False) -> "Submitted":
        """As :meth:`submit` for 4:2:0 planes (Y, U, V) in ``matrix`` and range: they are
        converted to RGB and back on the device (:mod:`.yuv`), and come back as planes."""
        def work(y: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> list[torch.Tensor]:
            stylized = self.tensor(yuv420_to_rgb(y, u, v, matrix, full_range))
            return list(rgb_to_yuv420(stylized, matrix, full_range))

        chunks = [planes[i:i + self.batch_size] for i in range(0, len(planes), self.batch_size)]
        return Submitted([self.transfer.run([np.stack([p[k] for p in chunk]) for k in range(3)], work)
                          for chunk in chunks], lambda arrays: list(zip(*arrays)))


class Submitted:
    """Batches on their way through a :class:`Stylizer`; :meth:`result` waits for them."""

    def __init__(self, pending: list[Pending], unpack: Callable[[list[np.ndarray]], list]):
        self.pending, self.unpack = pending, unpack

    def result(self) -> list:
        return [frame for p in self.pending for frame in self.unpack(p.result())]
