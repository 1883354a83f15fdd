"""A part of a video to stylize (``run --start T --duration D``): which frames and packets
fall in it, and their timestamps moved so that the part starts at time 0.

Everything is moved by the same time, the start, so sound and picture stay in sync; a
frame or packet belongs to the part when it starts at or after the start and before the
end. (An audio packet that began a few milliseconds before the start is left out: a
negative timestamp is what some muxers refuse.)
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av

from .frames import Frame


@dataclass(frozen=True)
class Segment:
    start_s: float = 0.0
    duration_s: float | None = None

    @property
    def end_s(self) -> float | None:
        return None if self.duration_s is None else self.start_s + self.duration_s

    def offset(self, time_base: Fraction) -> int:
        """The start in ``time_base`` units."""
        return round(Fraction(self.start_s).limit_denominator(10 ** 6) / time_base)

    def before(self, pts: int, time_base: Fraction) -> bool:
        return pts < self.offset(time_base)

    def after(self, pts: int, time_base: Fraction) -> bool:
        end = self.end_s
        return end is not None and pts * time_base >= Fraction(end).limit_denominator(10 ** 6)

    def move_frame(self, frame: Frame) -> Frame:
        frame.pts -= self.offset(frame.time_base)
        return frame

    def move_packet(self, packet: av.Packet) -> av.Packet | None:
        """The packet moved to the part's time, or None when it lies outside the part."""
        base = packet.time_base or packet.stream.time_base
        pts = packet.pts if packet.pts is not None else packet.dts
        if pts is None or self.before(pts, base) or self.after(pts, base):
            return None
        offset = self.offset(base)
        packet.pts = None if packet.pts is None else packet.pts - offset
        packet.dts = None if packet.dts is None else packet.dts - offset
        return packet
