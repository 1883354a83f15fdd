"""Colour tags of video streams as libswscale understands them, shared by the decoder
(YUV → RGB) and the encoder (RGB → YUV), so a stream is converted back with the matrix
and range it was read with; and the same matrices for our own YCbCr arithmetic (the
looks, and the conversion on the network's device)."""

from __future__ import annotations

# AVColorSpace values -> the matrices libswscale knows (see av.video.reformatter.Colorspace)
SWS_COLORSPACE = {1: "itu709", 4: "fcc", 5: "itu601", 6: "itu601", 7: "smpte240m", 9: "bt2020", 10: "bt2020"}
# Kr, Kb per matrix (ITU-R BT.601, BT.709, BT.2020); Kg = 1 - Kr - Kb
LUMA_WEIGHTS = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722), "bt2020": (0.2627, 0.0593)}
_MATRIX = {"itu709": "bt709", "itu601": "bt601", "bt2020": "bt2020"}  # libswscale's names -> ours
# AVColorRange values that are set: 1 limited (MPEG), 2 full (JPEG)
TAGGED_RANGES = (1, 2)


def reformat_options(colorspace: int, color_range: int, direction: str) -> dict:
    """``VideoFrame.reformat`` keyword arguments for a stream's tags; ``direction`` is
    "src" when converting from the stream's YUV, "dst" when converting to it."""
    options = {}
    space = SWS_COLORSPACE.get(int(colorspace))
    if space:
        options[f"{direction}_colorspace"] = space
    if int(color_range) in TAGGED_RANGES:
        options[f"{direction}_color_range"] = int(color_range)
    return options


def _sws_matrix(colorspace: int | None) -> str:
    """libswscale's matrix for AVColorSpace ``colorspace``; untagged streams are BT.601,
    as libswscale assumes."""
    return SWS_COLORSPACE.get(int(colorspace or 0), "itu601")


def matrix_for(colorspace: int | None) -> str:
    """The YCbCr matrix of a stream tagged with AVColorSpace ``colorspace``."""
    return _MATRIX.get(_sws_matrix(colorspace), "bt601")


def matrix_known(colorspace: int | None) -> bool:
    """Whether :func:`matrix_for` names the matrix libswscale converts this stream with
    (not for FCC and SMPTE 240M, which only libswscale knows)."""
    return _sws_matrix(colorspace) in _MATRIX
