"""Colour tags of video streams as libswscale understands them, shared by the decoder
(YUV → RGB) and the encoder (RGB → YUV), so a stream is converted back with the matrix
and range it was read with."""

from __future__ import annotations

# AVColorSpace values -> the matrices libswscale knows (see av.video.reformatter.Colorspace)
SWS_COLORSPACE = {1: "itu709", 4: "fcc", 5: "itu601", 6: "itu601", 7: "smpte240m", 9: "bt2020", 10: "bt2020"}
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
