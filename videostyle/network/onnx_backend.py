"""ONNX Runtime as the CPU backend of :class:`~videostyle.network.stylize.Stylizer`
(``run --backend onnxruntime``; ``auto`` takes it for fp32 on the CPU when it is installed,
where it measured faster than eager PyTorch: ``benchmarks/RESULTS.md``).

The network is exported in memory with the same padding, crop and clamp as the torch path
(:class:`~videostyle.network.export.Deployable`), so outputs agree within a grey level.
Install with ``pip install 'videostyle[onnx]'``; torch stays the only required runtime.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError, OutputError
from ..media.atomic import atomic_output
from .export import Deployable, export_onnx
from .transformer_net import TransformerNet

log = logging.getLogger(__name__)



def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def cache_folder() -> Path:
    """Where exported graphs are kept between runs ($XDG_CACHE_HOME/videostyle/onnx)."""
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "videostyle" / "onnx"


def cached_graph(model: TransformerNet) -> bytes:
    """The ONNX graph of ``model``, exported once per set of weights (tracing takes a few
    seconds; a cached graph loads at once). A cache that cannot be written is skipped."""
    digest = hashlib.sha256(f"{torch.__version__} {model.contrast_ramp} {model.architecture}".encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().numpy().tobytes())
    path = cache_folder() / f"{digest.hexdigest()[:32]}.onnx"
    if path.is_file():
        return path.read_bytes()
    buffer = io.BytesIO()
    export_onnx(Deployable(model.float().eval()).eval(), buffer)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as tmp:
            tmp.write_bytes(buffer.getvalue())
    except OutputError as error:
        log.info("not caching the ONNX graph (%s)", error)
    return buffer.getvalue()


class OnnxNetwork:
    """Callable: (B, 3, H, W) float32 on the 0–255 scale (H, W at least 16) -> the
    stylized batch, clamped, as a CPU tensor."""

    def __init__(self, model: TransformerNet, threads: int | None = None):
        try:
            import onnxruntime
        except ImportError as error:
            raise ConfigError("--backend onnxruntime needs ONNX Runtime: pip install 'videostyle[onnx]'") from error
        graph = cached_graph(model)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.log_severity_level = 3  # errors only: its warnings name internal graph nodes
        self.session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        image = np.ascontiguousarray(batch.detach().float().cpu().numpy())
        return torch.from_numpy(self.session.run(None, {"image": image})[0])
