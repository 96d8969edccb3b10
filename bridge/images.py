"""Recognises an image from its bytes (never from a URL or a name) before it is uploaded."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

# Formats WordPress's media library accepts as they are.
_UPLOADABLE = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
}
MAX_PIXELS = 40_000_000


class InvalidImage(Exception):
    """The bytes are not an image we can upload."""


@dataclass(frozen=True)
class ImageFile:
    """Image bytes with what was read from them."""

    data: bytes
    mime_type: str
    extension: str
    width: int
    height: int


def identify(data: bytes) -> ImageFile:
    """Checks that ``data`` decodes as an image in a format WordPress accepts.

    Raises InvalidImage with a reason an editor can read.
    """
    if not data:
        raise InvalidImage("the provider returned an empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image_format = image.format or ""
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise InvalidImage(f"the image is too large ({width}×{height} pixels)")
                image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidImage("the provider's file is not a readable image") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImage(f"the provider's image is damaged ({exc})") from None
    if image_format not in _UPLOADABLE:
        raise InvalidImage(f"the provider returned an unsupported image format ({image_format})")
    mime_type, extension = _UPLOADABLE[image_format]
    return ImageFile(data, mime_type, extension, width, height)
