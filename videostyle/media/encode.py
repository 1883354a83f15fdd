"""Streaming encode with PyAV: encode → mux, flushed at the end.

:class:`VideoSink` writes the stylized video stream with each input frame's pts and
time base, the input's sample aspect ratio, colour tags and display rotation, and
carries every audio and subtitle stream across: copied packet for packet when the
output container takes the codec, otherwise transcoded (audio) to one it takes.
Every such choice is logged.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..errors import ConfigError, EncodeError, OutputError
from .atomic import OS_REASONS
from .colour import reformat_options
from .frames import Frame, VideoInfo
from .kinds import VIDEO_CONTAINERS
from .nvenc import HARDWARE_TWIN, hardware_codec, quality_options
from .palette import DITHER, KEEP_LEVELS
from .planes import PLANAR_FORMAT, Planes, frame_of, rotate_planes
from .subtitles import SubtitleConverter

log = logging.getLogger(__name__)

# Audio codecs each container carries in a way common players accept (copy as is);
# None: whatever the muxer accepts. Others are transcoded to FALLBACK_AUDIO.
ACCEPTED_AUDIO = {
    "mp4": {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"},
    "mov": {"aac", "mp3", "alac", "ac3", "eac3", "pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_f32le"},
    "matroska": None,
    "webm": {"opus", "vorbis"},
    "avi": {"mp3", "aac", "ac3", "pcm_s16le"},
}
FALLBACK_AUDIO = {"mp4": "aac", "mov": "aac", "matroska": "aac", "webm": "libopus", "avi": "libmp3lame"}
ACCEPTED_SUBTITLES = {
    "mp4": {"mov_text"}, "mov": {"mov_text"}, "webm": {"webvtt"},
    "matroska": {"subrip", "ass", "ssa", "webvtt", "dvd_subtitle", "hdmv_pgs_subtitle", "dvb_subtitle"},
    "avi": set(),
}
DEFAULT_CRF = {"libx264": 18, "libx265": 20, "libvpx-vp9": 30, "libsvtav1": 30}
DEFAULT_CRF.update({hardware: DEFAULT_CRF[software] for software, hardware in HARDWARE_TWIN.items()})  # CQ = CRF
_FOUR_TWO_ZERO_NEEDS_EVEN = {"libx264", "libx265", "h264_nvenc", "hevc_nvenc"}


@dataclass(frozen=True)
class VideoEncoding:
    """What the user chose: codec (None: the container's default) and CRF (None: default);
    for GIF output, how far a pixel's colour may drift before it is re-dithered
    (``gif_keep_levels``, see :mod:`videostyle.palette`; 0: fresh palette and dither per frame)
    and where it dithers (``gif_dither``); the video encoder's ``threads`` (None: its own choice).
    ``hardware``: use the GPU's encoder (:mod:`.nvenc`) for the container's default codec
    where it opens; a codec or preset the user named always wins."""

    codec: str | None = None
    crf: int | None = None
    preset: str | None = None
    gif_keep_levels: int = KEEP_LEVELS
    threads: int | None = None
    gif_dither: str = DITHER
    hardware: bool = False


def writing_error(what: str, error: Exception, path: Path) -> EncodeError | OutputError:
    """An FFmpeg error while writing: OutputError when the file system refused (disk
    full, permission: the user can act on that), EncodeError otherwise."""
    if getattr(error, "errno", None) in OS_REASONS:
        return OutputError(f"{what}: {OS_REASONS[error.errno]}", path)
    return EncodeError(f"{what} ({error})", path)


def container_for(path: Path) -> tuple[str, str]:
    try:
        return VIDEO_CONTAINERS[path.suffix.lower()]
    except KeyError:
        raise ConfigError(f"cannot write video as {path.suffix or 'a file without extension'}; "
                          f"use one of {', '.join(VIDEO_CONTAINERS)} or .gif") from None


def needs_even_size(path: Path, encoding: VideoEncoding) -> bool:
    return (encoding.codec or container_for(path)[1]) in _FOUR_TWO_ZERO_NEEDS_EVEN


class _AudioTranscoder:
    """Decode one input audio stream, resample, and encode it for the output container."""

    def __init__(self, source, output, codec: str):
        self.decoder = source.codec_context
        rate = 48000 if codec == "libopus" else (source.codec_context.sample_rate or 48000)
        self.stream = output.add_stream(codec, rate=rate)
        layout = source.codec_context.layout
        self.stream.layout = layout
        fmt = self.stream.codec_context.codec.audio_formats[0].name
        self.resampler = av.AudioResampler(format=fmt, layout=layout, rate=rate)

    def encode(self, packet: av.Packet | None):
        frames = self.decoder.decode(packet) if packet is not None else self.decoder.decode(None)
        for frame in frames:
            for resampled in self.resampler.resample(frame):
                yield from self.stream.encode(resampled)
        if packet is None:
            for resampled in self.resampler.resample(None):
                yield from self.stream.encode(resampled)
            yield from self.stream.encode(None)


class VideoSink:
    """Writes one output video (a :class:`videostyle.pipeline.file.Sink`). Call
    :meth:`write_frame` with each source frame and its stylized upright RGB (same size as
    ``size``), :meth:`write_packet` with the source's audio and subtitle packets;
    :meth:`close` flushes every encoder and finishes the file."""

    def __init__(self, path: str | os.PathLike, container_path: Path, info: VideoInfo,
                 size: tuple[int, int], encoding: VideoEncoding):
        """``path``: where to write (a temporary name); ``container_path``: the final name,
        whose extension picks the container; ``size``: upright (width, height) of the frames."""
        self.path = Path(path)
        self.info = info
        self.format, default_codec = container_for(container_path)
        codec = encoding.codec or default_codec
        if encoding.hardware and encoding.codec is None and encoding.preset is None:
            codec = hardware_codec(codec)
        self.turns = info.rotation // 90
        width, height = size if self.turns % 2 == 0 else (size[1], size[0])
        try:
            self.container = av.open(str(self.path), "w", format=self.format)
        except av.FFmpegError as error:
            raise writing_error("cannot create the output file", error, container_path) from error
        try:
            self._add_video(codec, width, height, encoding, container_path)
            self._add_passthrough(container_path)
        except BaseException:
            self.container.close()
            raise
        self.frames_written = 0
        self._last_pts: int | None = None

    def _add_video(self, codec: str, width: int, height: int, encoding: VideoEncoding, name: Path) -> None:
        try:
            stream = self.container.add_stream(codec)
        except (av.FFmpegError, ValueError) as error:
            raise ConfigError(f"video codec {codec!r} is not available in this PyAV build ({error})") from error
        pix_fmt = "yuv420p"
        if (width % 2 or height % 2) and codec in _FOUR_TWO_ZERO_NEEDS_EVEN:
            pix_fmt = "yuv444p"
            log.warning("%s: %dx%d has an odd side, which %s cannot store in 4:2:0; writing 4:4:4 "
                        "(exact size, but some players only play 4:2:0: use .webm/VP9 for those)",
                        name, width, height, codec)
        if pix_fmt not in {f.name for f in stream.codec_context.codec.video_formats or []}:
            pix_fmt = stream.codec_context.codec.video_formats[0].name
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.time_base = self.info.time_base
        stream.codec_context.time_base = self.info.time_base
        if self.info.average_rate:
            stream.codec_context.framerate = self.info.average_rate
        if self.info.sample_aspect_ratio:
            stream.codec_context.sample_aspect_ratio = self.info.sample_aspect_ratio
        for attr in ("colorspace", "color_range", "color_primaries", "color_trc"):
            if getattr(self.info, attr):
                setattr(stream.codec_context, attr, getattr(self.info, attr))
        if self.info.rotation:
            stream.set_display_rotation(self.info.rotation)
        options = {}
        crf = encoding.crf if encoding.crf is not None else DEFAULT_CRF.get(codec)
        if codec in HARDWARE_TWIN.values():
            options.update(quality_options(crf))
        elif crf is not None:
            options["crf"] = str(crf)
        if codec == "libvpx-vp9":
            options.update({"b": "0", "row-mt": "1", "deadline": "good", "cpu-used": "4"})
        if encoding.preset:
            options["preset"] = encoding.preset
        stream.codec_context.options = options
        if encoding.threads is not None:
            stream.codec_context.thread_count = encoding.threads
        self.video = stream
        self.pix_fmt = pix_fmt
        self._reformat = {"format": pix_fmt, **reformat_options(self.info.colorspace, self.info.color_range, "dst")}
        log.info("%s: video %s %s %dx%d, crf %s", name, codec, pix_fmt, width, height, crf)

    def _add_passthrough(self, name: Path) -> None:
        self._copy: dict[int, av.stream.Stream] = {}
        self._transcode: dict[int, _AudioTranscoder] = {}
        supported = self.container.supported_codecs
        for stream in self.info.passthrough:
            codec = stream.codec_context.codec.canonical_name  # "mp3", not the decoder's "mp3float"
            if stream.type == "audio":
                accepted = ACCEPTED_AUDIO[self.format]
                if codec in supported and (accepted is None or codec in accepted):
                    self._copy[stream.index] = self.container.add_stream_from_template(stream)
                    log.info("%s: audio stream #%d (%s) copied", name, stream.index, codec)
                else:
                    target = FALLBACK_AUDIO[self.format]
                    self._transcode[stream.index] = _AudioTranscoder(stream, self.container, target)
                    log.warning("%s: audio stream #%d is %s, which %s does not carry; transcoding to %s",
                                name, stream.index, codec, name.suffix, target)
            elif stream.type == "subtitle":
                if codec in supported and codec in ACCEPTED_SUBTITLES[self.format]:
                    self._copy[stream.index] = self.container.add_stream_from_template(stream)
                    log.info("%s: subtitle stream #%d (%s) copied", name, stream.index, codec)
                else:
                    converter = SubtitleConverter.create(stream, self.container, self.format, name)
                    self._transcode[stream.index] = converter

    def write_frame(self, frame: Frame, rgb: np.ndarray) -> None:
        """Encode ``rgb`` at ``frame``'s pts and time base."""
        self._write(rgb, frame.pts, frame.time_base)

    def write_planes(self, frame: Frame, planes: Planes) -> None:
        """Encode upright 4:2:0 ``planes`` in the stream's own matrix and range (the device
        colour path; only where :attr:`pix_fmt` is ``yuv420p``) at ``frame``'s timing."""
        if self.pix_fmt != PLANAR_FORMAT:
            raise ValueError(f"this output is {self.pix_fmt}; planes need {PLANAR_FORMAT}")
        self._encode(frame_of(rotate_planes(planes, -self.turns)), frame.pts, frame.time_base)

    def _write(self, rgb: np.ndarray, pts: int, time_base: Fraction) -> None:
        if self.turns:
            rgb = np.ascontiguousarray(np.rot90(rgb, -self.turns))
        self._encode(av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(**self._reformat), pts, time_base)

    def _encode(self, frame: av.VideoFrame, pts: int, time_base: Fraction) -> None:
        if self._last_pts is not None and pts <= self._last_pts:
            log.warning("%s: frame %d has pts %d, not after the previous %d; written at %d",
                        self.info.path, self.frames_written, pts, self._last_pts, self._last_pts + 1)
            pts = self._last_pts + 1
        self._last_pts = pts
        frame.pts = pts
        frame.time_base = time_base
        self._mux(self.video.encode(frame))
        self.frames_written += 1

    def write_packet(self, packet: av.Packet) -> None:
        index = packet.stream.index
        if index in self._copy:
            packet.stream = self._copy[index]
            self._mux([packet])
        elif index in self._transcode:
            self._mux(self._transcode[index].encode(packet))

    def _mux(self, packets) -> None:
        try:
            for packet in packets:
                self.container.mux(packet)
        except av.FFmpegError as error:
            raise writing_error("writing failed", error, self.path) from error

    def close(self) -> None:
        """Flush every encoder and write the container trailer."""
        try:
            self._mux(self.video.encode(None))
            for transcoder in self._transcode.values():
                self._mux(transcoder.encode(None))
        finally:
            try:
                self.container.close()
            except av.FFmpegError as error:
                raise writing_error("finishing the file failed", error, self.path) from error

    def abort(self) -> None:
        try:
            self.container.close()
        except Exception:  # the file is deleted anyway
            pass
