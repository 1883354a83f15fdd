"""Still images: size, EXIF orientation and transparency."""

import numpy as np
from media import pattern
from PIL import Image

from videostyle.pipeline.file import stylize_file


def test_exif_orientation_is_applied_and_size_kept(tmp_path, identity):
    src = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90° clockwise
    Image.fromarray(pattern(0, 60, 40)).save(src, exif=exif, quality=95)
    stylize_file(src, tmp_path / "out.jpg", identity)
    assert identity.shapes == [(60, 40, 3)]  # upright: 40 wide, 60 high
    with Image.open(tmp_path / "out.jpg") as out:
        assert out.size == (40, 60)
        assert out.getexif().get(0x0112) in (None, 1)


def test_png_alpha_is_kept(tmp_path, identity):
    rgba = np.dstack([pattern(0, 30, 20), np.full((20, 30), 255, np.uint8)])
    rgba[5:10, 5:10, 3] = 0
    rgba[12:15, 20:25, 3] = 128
    src = tmp_path / "a.png"
    Image.fromarray(rgba, "RGBA").save(src)
    stylize_file(src, tmp_path / "out.png", identity)
    out = np.array(Image.open(tmp_path / "out.png"))
    assert out.shape == (20, 30, 4)
    assert np.array_equal(out[..., 3], rgba[..., 3])


def test_png_to_webp_and_odd_size(tmp_path, identity):
    src = tmp_path / "odd.png"
    Image.fromarray(pattern(0, 37, 23)).save(src)
    stylize_file(src, tmp_path / "out.webp", identity)
    with Image.open(tmp_path / "out.webp") as out:
        assert out.size == (37, 23) and out.format == "WEBP"
