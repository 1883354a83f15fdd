"""Exporting a model to run without videostyle: ONNX (any runtime) or TorchScript.

The exported graph does what :class:`~videostyle.network.stylize.Stylizer` does around the
network: it takes float32 RGB on the 0–255 scale, NCHW, any batch, height and width of
at least 16 px; reflection-pads to the network's multiple of 4, runs the network
(contrast ramp included), crops back and clamps to 0–255. So a user needs only::

    import numpy as np, onnxruntime
    from PIL import Image
    session = onnxruntime.InferenceSession("mosaic.onnx")
    rgb = np.asarray(Image.open("photo.jpg").convert("RGB"), np.float32)
    x = rgb.transpose(2, 0, 1)[None]                      # 1, 3, H, W on the 0-255 scale
    y = session.run(None, {"image": x})[0][0]             # 3, H, W, clamped to 0-255
    Image.fromarray((y.transpose(1, 2, 0) + 0.5).astype(np.uint8)).save("photo_mosaic.png")

:func:`export_model` checks the file against the torch path on an image of odd size and
refuses to keep it when they differ by more than a grey level.
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, ModelError
from ..media.atomic import atomic_output
from .padding import pad  # the Stylizer's own padding: what the export must match
from .transformer_net import TransformerNet, input_contrast

log = logging.getLogger(__name__)

FORMATS = ("onnx", "torchscript")
ONNX_OPSET = 18
CHECK_SIZE = (3, 3, 61, 97)  # an odd size: the padding and the crop are exercised
MAX_DIFFERENCE = 1.0  # grey levels


class Deployable(nn.Module):
    """The network with the Stylizer's padding, cropping and clamping, in one graph."""

    def __init__(self, model: TransformerNet):
        super().__init__()
        # the layers themselves (shared, not copied), so that TorchScript compiles only them
        self.encoder = nn.Sequential(model.conv1, model.in1, nn.ReLU(), model.conv2, model.in2, nn.ReLU(),
                                     model.conv3, model.in3, nn.ReLU(),
                                     *(getattr(model, f"res{i}") for i in range(1, model.residual_blocks + 1)))
        self.decoder = nn.Sequential(model.deconv1, model.in4, nn.ReLU(), model.deconv2, model.in5, nn.ReLU(),
                                     model.deconv3)
        self.contrast_ramp = float(model.contrast_ramp)

    def _network(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[2], image.shape[3]
        # up to the next multiple of 4 (reflected), as Stylizer pads; sizes stay symbolic in the graph
        # (literals: TorchScript cannot read module globals; 4 and 16 are padding.MULTIPLE and MIN_SIDE)
        x = F.pad(image, [0, (4 - w % 4) % 4, 0, (4 - h % 4) % 4], mode="reflect")
        y = self._network(x)
        if self.contrast_ramp > 0:  # as TransformerNet.fade_low_contrast, on the padded input
            spread = input_contrast(x)
            flat = self._network(torch.zeros_like(x[:1, :, :16, :16])).mean(dim=(2, 3), keepdim=True)
            gain = torch.clamp(spread / self.contrast_ramp, max=1.0).view(-1, 1, 1, 1)
            y = flat + gain * (y - flat)
        return y[:, :, :h, :w].clamp(0, 255)


def export_model(model: TransformerNet, path: str | os.PathLike, fmt: str = "onnx") -> float:
    """Write ``model`` as ``fmt`` to ``path`` (atomically); returns the largest difference
    (grey levels) between the file and the torch path on a check image."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    deployable = Deployable(model.float().eval()).eval()
    path = Path(path)
    check = torch.rand(*CHECK_SIZE, generator=torch.Generator().manual_seed(0)) * 255
    with torch.no_grad():
        expected = _reference(model, check)
    with atomic_output(path) as tmp:
        if fmt == "onnx":
            export_onnx(deployable, tmp)
            got = _run_onnx(tmp, check.numpy())
        else:
            with warnings.catch_warnings():  # TorchScript is deprecated in newer torch, still what C++ loads
                warnings.simplefilter("ignore", FutureWarning)
                torch.jit.script(deployable).save(str(tmp))
                with torch.no_grad():
                    got = torch.jit.load(str(tmp))(check).numpy()
        difference = float(np.abs(got - expected).max())
        if difference > MAX_DIFFERENCE:
            raise ModelError(f"the exported {fmt} graph differs from the torch path by {difference:.3f} grey levels "
                             f"(more than {MAX_DIFFERENCE:g}); not written", path)
    return difference


def _reference(model: TransformerNet, image: torch.Tensor) -> np.ndarray:

    x, (h, w) = pad(image)
    return model(x)[..., :h, :w].clamp(0, 255).numpy()


def export_onnx(deployable: Deployable, target: Path | io.BytesIO) -> None:
    """The ONNX graph of ``deployable`` (batch, height and width left open) to a file or buffer."""
    buffer = io.BytesIO()
    example = torch.rand(1, 3, 64, 80) * 255
    with warnings.catch_warnings():  # the tracer's notes on instance norm and shape inference
        warnings.simplefilter("ignore")
        torch.onnx.export(deployable, (example,), buffer, input_names=["image"], output_names=["stylized"],
                          opset_version=ONNX_OPSET, dynamo=False,
                          dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                                        "stylized": {0: "batch", 2: "height", 3: "width"}})
    if isinstance(target, io.BytesIO):
        target.write(buffer.getvalue())
    else:
        Path(target).write_bytes(buffer.getvalue())


def _run_onnx(path: Path, image: np.ndarray) -> np.ndarray:
    try:
        import onnxruntime
    except ImportError as error:
        raise ConfigError("checking an ONNX export needs ONNX Runtime: pip install 'videostyle[onnx]'") from error
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"image": image.astype(np.float32)})[0]
