"""Text subtitles converted between the codecs containers accept.

PyAV decodes any text subtitle to ASS events but has no subtitle encoder, so the
packets of the target codec are built here: ``mov_text`` (MP4/MOV) is a 16-bit
big-endian length and UTF-8 text, ``webvtt`` (WebM) and ``subrip`` (Matroska) are the
UTF-8 text itself. Timing (pts, duration, time base) is carried from each input packet.
Bitmap subtitles (DVD, PGS, DVB) cannot become text: they are left out with a warning.
"""

from __future__ import annotations

import logging
import struct
from pathlib import Path
from typing import Iterator

import av

log = logging.getLogger(__name__)

TEXT_TARGET = {"mp4": "mov_text", "mov": "mov_text", "webm": "webvtt", "matroska": "subrip"}


def _payload(codec: str, text: str) -> bytes:
    data = text.encode("utf-8")
    if codec == "mov_text":
        return struct.pack(">H", len(data)) + data
    return data


def _ass_to_plain(dialogue: str) -> str:
    """Drop ASS override blocks ({\\i1}...) and turn ASS line breaks into newlines."""
    out, depth = [], 0
    for ch in dialogue:
        if ch == "{":
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
        elif not depth:
            out.append(ch)
    return "".join(out).replace("\\N", "\n").replace("\\n", "\n")


class SubtitleConverter:
    """Turns one input subtitle stream's packets into packets of ``target`` codec."""

    def __init__(self, source, output, target: str | None, name: Path):
        self.source = source
        self.target = target
        self.stream = output.add_mux_stream(target) if target else None
        if self.stream is not None:
            self.stream.time_base = source.time_base

    @classmethod
    def create(cls, source, output, container: str, name: Path) -> "SubtitleConverter":
        codec = source.codec_context.codec.canonical_name
        target = TEXT_TARGET.get(container)
        if target is None or not source.codec_context.codec.text_sub:
            log.warning("%s: subtitle stream #%d (%s) cannot be stored in %s and is not text that "
                        "could be converted; it is left out (write .mkv to keep it)",
                        name, source.index, codec, name.suffix)
            return cls(source, output, None, name)
        log.warning("%s: subtitle stream #%d is %s, which %s does not carry; converting its text to %s",
                    name, source.index, codec, name.suffix, target)
        return cls(source, output, target, name)

    def encode(self, packet: av.Packet | None) -> Iterator[av.Packet]:
        if packet is None or self.stream is None:
            return
        texts = []
        for subtitle in packet.decode():
            dialogue = getattr(subtitle, "dialogue", None)
            if dialogue:
                texts.append(_ass_to_plain(dialogue.decode("utf-8", "replace")))
        if not texts:
            return
        out = av.Packet(_payload(self.target, "\n".join(texts)))
        out.pts, out.dts, out.duration = packet.pts, packet.dts, packet.duration
        out.time_base = packet.time_base
        out.stream = self.stream
        yield out
