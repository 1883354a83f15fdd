"""Is a media file whole? Checks that tell a truncated or damaged file from a short one.

FFmpeg's demuxers stop quietly at the end of the data they can read: a Matroska or
WebM file cut short, or a GIF without its last blocks, decodes to fewer frames without
any error. The containers themselves say how long they should be — a Matroska segment
records its size, a GIF ends with a trailer byte, an MP4 index counts every frame — and
the decoder is handed one packet per frame. :func:`truncation` reads the first two
before decoding; :class:`DecodeTally` compares the rest after it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .gif import scan_gif

_EBML_HEADER = b"\x1a\x45\xdf\xa3"
_SEGMENT = b"\x18\x53\x80\x67"
# containers whose index counts every video frame exactly (FFmpeg's stream.frames)
EXACT_FRAME_COUNTS = {"mov,mp4,m4a,3gp,3g2,mj2"}


def _vint(data: bytes, pos: int) -> tuple[int | None, int]:
    """An EBML variable-length size at ``pos``: (value, position after it); value None
    for the reserved "unknown size" (all ones) or when the data ends."""
    if pos >= len(data) or data[pos] == 0:
        return None, len(data)
    length = 8 - data[pos].bit_length() + 1
    if pos + length > len(data):
        return None, len(data)
    value = data[pos] & ((1 << (8 - length)) - 1)
    for byte in data[pos + 1:pos + length]:
        value = (value << 8) | byte
    unknown = value == (1 << (7 * length)) - 1
    return (None if unknown else value), pos + length


def matroska_shortfall(path: Path) -> int | None:
    """How many bytes a Matroska/WebM file lacks of the size its segment records (0 when
    whole); None when it does not say (live streams write "unknown size")."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if not head.startswith(_EBML_HEADER):
        return None
    size, pos = _vint(head, 4)
    if size is None:
        return None
    pos += size
    if head[pos:pos + 4] != _SEGMENT:
        return None
    size, pos = _vint(head, pos + 4)
    if size is None:
        return None
    return max(0, pos + size - os.path.getsize(path))


def truncation(path: Path, container_format: str) -> str | None:
    """Why the file is known to be cut short, before decoding it; None when it looks whole."""
    if container_format == "gif":
        scan = scan_gif(path)
        if not scan.complete:
            return f"the GIF has no trailer: it was cut short after {scan.images} whole images"
    elif container_format.startswith("matroska"):
        missing = matroska_shortfall(path)
        if missing:
            return f"the file lacks the last {missing} bytes its Matroska segment records: it was cut short"
    return None


@dataclass
class DecodeTally:
    """Counts kept while decoding one video stream: packets handed to the decoder, frames
    it returned, packets it refused, and whether demuxing ended early."""

    expected: int | None = None  # the container's exact frame count, where it has one
    packets: int = 0
    frames: int = 0
    outside: int = 0  # frames decoded but left out because they lie outside the part asked for
    refused: list[str] = field(default_factory=list)  # one reason per packet the decoder refused
    stopped: str | None = None  # why reading the file ended before its end
    truncated: str | None = None  # from :func:`truncation`

    def missing(self) -> int:
        """Frames the file holds (by packets or its index) that did not come out."""
        frames = self.frames + self.outside
        return max(self.packets - frames, (self.expected or 0) - frames, 0)

    def problems(self) -> list[str]:
        """Every sign of loss, as phrases; empty when the stream decoded whole."""
        found = []
        if self.truncated:
            found.append(self.truncated)
        if self.stopped:
            found.append(f"reading stopped early ({self.stopped})")
        if self.refused:
            found.append(f"the decoder refused {len(self.refused)} packet{'s' * (len(self.refused) != 1)} "
                         f"({self.refused[0]})")
        missing = self.missing()
        if missing and not self.refused:
            of = self.expected if self.expected and self.expected >= self.packets else self.packets
            found.append(f"{missing} of its {of} frames did not decode")
        return found
