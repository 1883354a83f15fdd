"""Still images: read upright (EXIF orientation applied), write PNG / JPEG / WebP / ….

Transparency is kept: the colour is stylized and the input's alpha channel is put
back. ICC profiles and the remaining EXIF data are carried over; the orientation tag
is not, since the pixels are already upright.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ..errors import ConfigError, InputError
from .frames import DECODE_PIXELS, megapixels
from .kinds import IMAGE_FORMATS

_KEEPS_ALPHA = {"PNG", "WEBP", "TIFF"}
BACKGROUND = 255  # transparent pixels are shown to the network as white
UNREADABLE = (OSError, ValueError, Image.DecompressionBombError, SyntaxError)  # what Pillow raises on bad files


@dataclass
class StillImage:
    rgb: np.ndarray  # (H, W, 3) uint8, upright
    alpha: np.ndarray | None  # (H, W) uint8 or None
    icc_profile: bytes | None
    exif: bytes | None


_PILLOW_LIMIT = threading.Lock()


@contextlib.contextmanager
def _sized_by_us():
    """Pillow's own decompression-bomb limit (a warning at 89 megapixels, an error at 179)
    off while a header is read: :func:`open_upright` applies videostyle's limit instead."""
    with _PILLOW_LIMIT:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def open_upright(path: str | os.PathLike, max_pixels: int | None = None,
                 long_side: int | None = None) -> Image.Image:
    """The image at ``path``, loaded and turned upright by its EXIF orientation, in its own
    mode (the one image reader: ``run`` and training both read through it).

    The size in the header is checked against ``max_pixels`` (default
    :data:`~videostyle.media.decode.DECODE_PIXELS`) before the pixels are decoded, so a
    small file that declares a huge image costs nothing; JPEGs wanted at ``long_side`` px
    or less are decoded at a reduced scale. Pillow's errors pass through (InputError for
    an image over the limit); :func:`read_image` maps them."""
    limit = max_pixels or DECODE_PIXELS
    with _sized_by_us():
        im = Image.open(path)
    with im:
        if im.width * im.height > limit:
            raise InputError(f"image size {megapixels(im.width, im.height)} is over the limit of "
                             f"{limit / 1e6:.1f} megapixels for decoding; --max-pixels raises it where there is "
                             "memory for it (about 4 bytes per pixel)", path)
        if long_side and im.format == "JPEG" and max(im.size) > 2 * long_side:
            im.draft(im.mode, (max(1, im.width * long_side // max(im.size)), max(1, im.height * long_side // max(im.size))))
        with _sized_by_us():
            im.load()
        upright = ImageOps.exif_transpose(im)
        if upright is im:
            upright = im.copy()
        upright.info.setdefault("icc_profile", im.info.get("icc_profile"))
        return upright


def load_rgb(path: str | os.PathLike, max_pixels: int | None = None) -> Image.Image:
    """An upright RGB image; raises InputError when it cannot be read or is over ``max_pixels``."""
    try:
        return open_upright(path, max_pixels).convert("RGB")
    except InputError:
        raise
    except UNREADABLE as error:
        raise InputError(f"not a readable image ({error})", path) from error


def read_image(path: str | os.PathLike, max_pixels: int | None = None, long_side: int | None = None) -> StillImage:
    """An image with its alpha, ICC profile and EXIF (see :func:`open_upright`)."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path)
    if path.stat().st_size == 0:
        raise InputError("empty file", path)
    try:
        upright = open_upright(path, max_pixels, long_side)
        has_alpha = upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info)
        rgba = upright.convert("RGBA" if has_alpha else "RGB")
        exif = upright.getexif()
        exif.pop(0x0112, None)  # orientation: the pixels are upright now
        exif_bytes = exif.tobytes() if len(exif) else None
        icc = upright.info.get("icc_profile")
    except InputError:
        raise
    except UNREADABLE as error:
        raise InputError(f"not a readable image ({error})", path) from error
    array = np.asarray(rgba)
    if has_alpha:
        return StillImage(np.ascontiguousarray(array[..., :3]), np.ascontiguousarray(array[..., 3]), icc, exif_bytes)
    return StillImage(np.ascontiguousarray(array), None, icc, exif_bytes)


def fit_long_side(image: Image.Image, size: int) -> Image.Image:
    """``image`` resized (Lanczos) so that its long side is ``size`` px."""
    scale = size / max(image.size)
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                        Image.Resampling.LANCZOS)


def flatten_alpha(rgb: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """Composite onto white where the input is (partly) transparent: what the network sees."""
    if alpha is None or alpha.min() == 255:
        return rgb
    a = alpha[..., None].astype(np.float32) / 255
    return (rgb * a + BACKGROUND * (1 - a) + 0.5).astype(np.uint8)


def write_image(path: str | os.PathLike, final_name: Path, rgb: np.ndarray, alpha: np.ndarray | None,
                icc_profile: bytes | None = None, exif: bytes | None = None) -> None:
    """Write ``rgb`` (+ ``alpha``) to ``path`` in the format of ``final_name``'s extension."""
    fmt = IMAGE_FORMATS.get(final_name.suffix.lower())
    if fmt is None:
        raise ConfigError(f"cannot write an image as {final_name.suffix}; use one of {', '.join(IMAGE_FORMATS)}")
    if alpha is not None and fmt in _KEEPS_ALPHA:
        image = Image.fromarray(np.dstack([rgb, alpha]), mode="RGBA")
    else:
        image = Image.fromarray(rgb, mode="RGB")
    options: dict = {}
    if icc_profile:
        options["icc_profile"] = icc_profile
    if exif and fmt in {"JPEG", "WEBP", "PNG", "TIFF"}:
        options["exif"] = exif
    if fmt == "JPEG":
        options.update(quality=95, subsampling=0)
    elif fmt == "WEBP":
        options.update(quality=95, method=4)
    image.save(path, format=fmt, **options)
