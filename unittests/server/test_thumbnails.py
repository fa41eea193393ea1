# SPDX-License-Identifier: Apache-2.0
"""Thumbnail sizes by the spec's rules: never below the asked size unless the image is,
never upscaled, `scale` keeps the aspect ratio and `crop` takes the asked one."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from reference_server.services.thumbnails import CannotThumbnail, make_thumbnail


def _image(width: int, height: int, mode: str = "RGB", fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height)).save(buffer, fmt)
    return buffer.getvalue()


def _size(thumb) -> tuple[int, int]:
    return Image.open(io.BytesIO(thumb.data)).size


@pytest.mark.parametrize("original, asked, expected", [
    ((800, 400), (96, 96), (96, 96)),
    ((800, 400), (320, 240), (320, 240)),
    ((300, 900), (32, 32), (32, 32)),
    ((100, 50), (96, 96), (50, 50)),  # cannot reach 96 high: the largest square it holds
])
def test_crop(original, asked, expected) -> None:
    assert _size(make_thumbnail(_image(*original), *asked, "crop")) == expected


@pytest.mark.parametrize("original, asked, expected", [
    ((800, 400), (64, 64), (128, 64)),
    ((800, 400), (320, 240), (480, 240)),
    ((400, 800), (100, 100), (100, 200)),
])
def test_scale(original, asked, expected) -> None:
    assert _size(make_thumbnail(_image(*original), *asked, "scale")) == expected


def test_an_image_no_larger_than_asked_is_its_own_thumbnail() -> None:
    assert make_thumbnail(_image(40, 30), 96, 96, "scale") is None


def test_transparency_stays_png_and_opaque_becomes_jpeg() -> None:
    assert make_thumbnail(_image(200, 200, "RGBA"), 32, 32, "crop").content_type == "image/png"
    assert make_thumbnail(_image(200, 200, "RGB", "JPEG"), 32, 32, "crop").content_type \
        == "image/jpeg"


def test_what_is_not_an_image_is_refused() -> None:
    with pytest.raises(CannotThumbnail):
        make_thumbnail(b"plain text", 32, 32, "crop")
