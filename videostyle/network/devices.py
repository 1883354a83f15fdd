"""Device and precision choices, checked rather than silently changed."""

from __future__ import annotations

import contextlib
import os
import platform

import torch

from ..errors import DeviceError

DEVICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then the CPU; a named device must exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError("--device cuda was asked for, but PyTorch sees no CUDA GPU here "
                          f"(torch {torch.__version__}); use --device cpu or auto")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise DeviceError("--device mps was asked for, but Apple's MPS backend is not available; "
                          "use --device cpu or auto")
    if device.type not in {"cpu", "cuda", "mps"}:
        raise DeviceError(f"unsupported device {name!r}; choose one of {', '.join(DEVICES)}")
    return device


def cpu_supports_bf16() -> bool:
    """True where the CPU has native bf16 arithmetic (AVX512-BF16 or AMX)."""
    probe = getattr(torch.cpu, "_is_avx512_bf16_supported", None)
    if probe is not None and probe():
        return True
    amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return bool(amx is not None and amx())


def native_half_dtype(device: torch.device) -> torch.dtype | None:
    """The reduced precision ``device`` computes natively (bf16 on CPUs with AVX512-BF16 or
    AMX, bf16 or fp16 on CUDA, fp16 on MPS); None where it has none and fp32 is faster."""
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return torch.bfloat16 if cpu_supports_bf16() else None


def half_dtype(device: torch.device) -> torch.dtype:
    """The reduced precision used on ``device``; DeviceError where it would be slow or absent."""
    dtype = native_half_dtype(device)
    if dtype is None:
        raise DeviceError(f"this CPU ({platform.processor() or platform.machine()}) has no native "
                          "bf16 arithmetic, so half precision would be slower than fp32")
    return dtype


def describe_precision(device: torch.device, dtype: torch.dtype | None) -> str:
    """"bf16 autocast on the CPU", "fp32 on the CPU (no native bf16)" and the like."""
    where = "the CPU" if device.type == "cpu" else device.type.upper()
    if dtype is not None:
        return f"{str(dtype).removeprefix('torch.').replace('bfloat', 'bf').replace('float', 'fp')} autocast on {where}"
    native = native_half_dtype(device)
    return f"fp32 on {where}" + (" (no native bf16 here)" if native is None and device.type == "cpu" else "")


def autocast(device: torch.device, dtype: torch.dtype | None):
    """An autocast context for ``dtype``, or a no-op for full precision."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def describe_machine(device: torch.device) -> str:
    """One line for model cards and benchmark tables."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA), torch {torch.__version__}"
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} threads, torch {torch.__version__}"
