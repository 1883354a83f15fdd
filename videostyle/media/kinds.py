"""Which files are images, GIFs and videos: the one set of media extensions, shared by
folder runs, training data and the pipeline."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError

# output extension -> (FFmpeg muxer, default video codec)
VIDEO_CONTAINERS = {
    ".mp4": ("mp4", "libx264"), ".m4v": ("mp4", "libx264"), ".mov": ("mov", "libx264"),
    ".mkv": ("matroska", "libx264"), ".webm": ("webm", "libvpx-vp9"), ".avi": ("avi", "libx264"),
}
# still-image extension -> Pillow format
IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP",
                 ".tif": "TIFF", ".tiff": "TIFF"}

IMAGE_EXTENSIONS = frozenset(IMAGE_FORMATS)
GIF_EXTENSIONS = frozenset({".gif"})
# videos we read; those we also write are VIDEO_CONTAINERS
VIDEO_EXTENSIONS = frozenset(VIDEO_CONTAINERS) | {".mpg", ".mpeg", ".ts", ".m2ts", ".wmv", ".flv", ".3gp",
                                                  ".ogv", ".mts"}
MEDIA_EXTENSIONS = IMAGE_EXTENSIONS | GIF_EXTENSIONS | VIDEO_EXTENSIONS


def kind_by_extension(path: Path) -> str | None:
    """'image', 'gif' or 'video' by the file's extension; None when it says nothing."""
    suffix = path.suffix.lower()
    if suffix in GIF_EXTENSIONS:
        return "gif"
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    if suffix in VIDEO_EXTENSIONS:
        return "video"
    return None


def output_kind(path: Path) -> str:
    """What an output name asks for: 'gif', 'image', or (any other extension) 'video'."""
    return kind_by_extension(path) if path.suffix.lower() in GIF_EXTENSIONS | IMAGE_EXTENSIONS else "video"


def media_kind(path: Path) -> str:
    """'image', 'gif' or 'video': by extension, and for unknown extensions by probing the
    file with PyAV."""
    kind = kind_by_extension(path)
    if kind is not None:
        return kind
    from .decode import open_container  # here, so that the tables above load without PyAV (training reads them)

    container = open_container(path)
    try:
        if container.streams.video:
            return "gif" if container.format.name == "gif" else "video"
    finally:
        container.close()
    raise InputError("not an image, GIF or video that can be read", path)
