# SPDX-License-Identifier: Apache-2.0
"""Thumbnails of images, by the spec's rules: never smaller than asked (unless the image
is), never upscaled; `scale` keeps the aspect ratio, `crop` takes the asked one.

Pure functions on bytes (Pillow); the media repository runs them off the event loop.
"""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image

MAX_PIXELS = 50_000_000  # larger images are not decoded (decompression bombs)


class CannotThumbnail(Exception):
    """The bytes are not an image this server can make thumbnails of."""


class TooLarge(Exception):
    """The image has too many pixels to decode safely."""


@dataclass(frozen=True)
class Thumbnail:
    content_type: str
    data: bytes


def make_thumbnail(data: bytes, width: int, height: int, method: str) -> Thumbnail | None:
    """A thumbnail at least `width`×`height` (where the image allows), or None when the
    image is already no larger than asked: then the original is the answer."""
    image = _open(data)
    if image.width <= width and image.height <= height:
        return None
    if method == "crop":
        result = _crop(image, width, height)
    else:
        result = _scale(image, width, height)
    return _encode(result)


def _open(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                raise TooLarge(f"{image.width}x{image.height} pixels")
            image.load()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
        raise TooLarge(str(error)) from None
    except (OSError, ValueError, SyntaxError) as error:
        raise CannotThumbnail(str(error)) from None
    return image


def _scale(image: Image.Image, width: int, height: int) -> Image.Image:
    """Keeps the aspect ratio; both sides at least as asked where the image allows."""
    factor = min(1.0, max(width / image.width, height / image.height))
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS) if size != image.size else image


def _crop(image: Image.Image, width: int, height: int) -> Image.Image:
    """The asked aspect ratio, centred; at least as large as asked where the image allows."""
    factor = min(1.0, max(width / image.width, height / image.height))
    scaled = _scale(image, round(image.width * factor), round(image.height * factor)) \
        if factor < 1 else image
    ratio = width / height
    crop_w = min(scaled.width, round(scaled.height * ratio))
    crop_h = min(scaled.height, round(crop_w / ratio))
    left, top = (scaled.width - crop_w) // 2, (scaled.height - crop_h) // 2
    return scaled.crop((left, top, left + crop_w, top + crop_h))


def _encode(image: Image.Image) -> Thumbnail:
    """PNG when there is transparency or a palette, JPEG otherwise."""
    buffer = io.BytesIO()
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        image.convert("RGBA").save(buffer, "PNG", optimize=True)
        return Thumbnail("image/png", buffer.getvalue())
    image.convert("RGB").save(buffer, "JPEG", quality=85)
    return Thumbnail("image/jpeg", buffer.getvalue())
