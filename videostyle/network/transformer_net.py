"""The image transformation network of Johnson et al. (2016).

Layer names and shapes follow pytorch/examples ``fast_neural_style`` exactly, so a
``mosaic.pth`` trained there loads here unchanged (see :mod:`videostyle.models`).

Value range: the network takes RGB in [0, 255] (float, NCHW) and returns RGB on the
same 0–255 scale, unclamped; callers clamp to [0, 255] for display. Height and width
should be multiples of 4 (two stride-2 convolutions, two 2x upsamplings);
:class:`videostyle.stylize.Stylizer` pads and crops so any size works.

Contrast ramp. Every convolution is followed by an instance norm, which removes the
mean and the scale of its input, so the network's output does not change when the
input's contrast is multiplied by any factor (up to the norms' eps of 1e-5): a flat
frame gives a flat colour, while a black frame carrying noise of half a grey level is
painted at full strength, as if it were a photo. In a fade from black the first frames
flash. With ``contrast_ramp`` set, an input whose standard deviation (over its pixels
and channels, 0–255 levels) is below it has its output blended toward the flat-frame
output, in proportion to that deviation; other inputs are returned bit for bit. It is
not part of the state dict: model cards record it (``architecture.contrast_ramp``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def input_contrast(x: torch.Tensor) -> torch.Tensor:
    """Per image of a (N, 3, H, W) batch on the 0–255 scale, the standard deviation over
    its pixels and channels: what ``contrast_ramp`` is compared with."""
    return x.detach().float().flatten(1).std(dim=1)


class ConvLayer(nn.Module):
    """Reflection padding followed by a convolution (keeps size at stride 1)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int):
        super().__init__()
        self.reflection_pad = nn.ReflectionPad2d(kernel_size // 2)
        self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2d(self.reflection_pad(x))


class ResidualBlock(nn.Module):
    """Two 3x3 conv + instance-norm layers with an identity shortcut."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in1 = nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in2 = nn.InstanceNorm2d(channels, affine=True)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.in1(self.conv1(x)))
        return self.in2(self.conv2(out)) + x


class UpsampleConvLayer(nn.Module):
    """Nearest-neighbour upsampling then a convolution (no checkerboard of transposed convs)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 upsample: int | None = None):
        super().__init__()
        self.upsample = upsample
        self.reflection_pad = nn.ReflectionPad2d(kernel_size // 2)
        self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, mode="nearest", scale_factor=float(self.upsample))
        return self.conv2d(self.reflection_pad(x))


class TransformerNet(nn.Module):
    """Feed-forward style network: encoder, residual blocks, nearest-upsample decoder.

    ``channels`` and ``residual_blocks`` default to the paper's 32 and 5; smaller values
    give fast networks for tests and CPU experiments (their checkpoints record them).
    ``end_kernel`` (9 in the paper) is the size of the first and last convolutions, the
    two that run at full resolution on 3 channels: the fast students use 5, which costs
    a third of the 9x9's arithmetic there.
    ``contrast_ramp`` (0–255 levels, 0 = off) fades the output of near-flat inputs; see
    the module docstring.
    """

    def __init__(self, channels: int = 32, residual_blocks: int = 5, contrast_ramp: float = 0.0,
                 end_kernel: int = 9):
        super().__init__()
        c = channels
        self.channels = channels
        self.residual_blocks = residual_blocks
        self.end_kernel = end_kernel
        self.contrast_ramp = contrast_ramp
        self.conv1 = ConvLayer(3, c, kernel_size=end_kernel, stride=1)
        self.in1 = nn.InstanceNorm2d(c, affine=True)
        self.conv2 = ConvLayer(c, 2 * c, kernel_size=3, stride=2)
        self.in2 = nn.InstanceNorm2d(2 * c, affine=True)
        self.conv3 = ConvLayer(2 * c, 4 * c, kernel_size=3, stride=2)
        self.in3 = nn.InstanceNorm2d(4 * c, affine=True)
        for i in range(1, residual_blocks + 1):
            self.add_module(f"res{i}", ResidualBlock(4 * c))
        self.deconv1 = UpsampleConvLayer(4 * c, 2 * c, kernel_size=3, stride=1, upsample=2)
        self.in4 = nn.InstanceNorm2d(2 * c, affine=True)
        self.deconv2 = UpsampleConvLayer(2 * c, c, kernel_size=3, stride=1, upsample=2)
        self.in5 = nn.InstanceNorm2d(c, affine=True)
        self.deconv3 = ConvLayer(c, 3, kernel_size=end_kernel, stride=1)
        self.relu = nn.ReLU()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Input (0–255) to the residual blocks' output: the features the temporal
        feature loss compares (at 1/4 of the input's height and width)."""
        y = self.relu(self.in1(self.conv1(x)))
        y = self.relu(self.in2(self.conv2(y)))
        y = self.relu(self.in3(self.conv3(y)))
        for i in range(1, self.residual_blocks + 1):
            y = getattr(self, f"res{i}")(y)
        return y

    def decode(self, features: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.in4(self.deconv1(features)))
        y = self.relu(self.in5(self.deconv2(y)))
        return self.deconv3(y)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.decode(self.encode(x))
        if self.contrast_ramp > 0:
            y = self.fade_low_contrast(x, y)
        return y

    def flat_output(self, like: torch.Tensor) -> torch.Tensor:
        """The output for any flat input, one colour per channel (N=1, C, 1, 1): the
        instance norms turn a constant into their biases, so it is the same for every
        constant and every size."""
        flat = torch.zeros(1, 3, 16, 16, dtype=like.dtype, device=like.device)
        return self.decode(self.encode(flat)).mean(dim=(2, 3), keepdim=True)

    def fade_low_contrast(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``y`` for inputs with a standard deviation of at least ``contrast_ramp``;
        below it, ``flat + (std / contrast_ramp) * (y - flat)``."""
        spread = input_contrast(x)
        low = spread < self.contrast_ramp
        if not bool(low.any()):
            return y
        flat = self.flat_output(x).to(y.dtype)
        gain = (spread / self.contrast_ramp).to(y.dtype).view(-1, 1, 1, 1)
        return torch.where(low.view(-1, 1, 1, 1), flat + gain * (y - flat), y)

    @property
    def architecture(self) -> dict:
        """What a checkpoint records so that the network can be rebuilt (the contrast
        ramp only when it is on)."""
        recorded = {"channels": self.channels, "residual_blocks": self.residual_blocks}
        if self.end_kernel != 9:
            recorded["end_kernel"] = self.end_kernel
        if self.contrast_ramp > 0:
            recorded["contrast_ramp"] = self.contrast_ramp
        return recorded
