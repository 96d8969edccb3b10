"""Recognises an image from its bytes (never from a URL or a name), safely: only the decoders
for the formats WordPress takes, and a pixel cap checked from the header before decoding."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

# Formats WordPress's media library accepts as they are; Pillow may use only these decoders on
# untrusted bytes.
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


@contextmanager
def open_image(data: bytes) -> Iterator[Image.Image]:
    """Opens and loads ``data`` with the allowed decoders after checking its pixel count.

    Raises InvalidImage: empty, not an image, another format, damaged, or too many pixels (a
    decompression bomb is refused from its header, before it is decoded).
    """
    if not data:
        raise InvalidImage("the provider returned an empty file")
    try:
        with Image.open(io.BytesIO(data), formats=tuple(_UPLOADABLE)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise InvalidImage(f"the image is too large ({width}×{height} pixels)")
            image.load()
            yield image
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidImage(
            "the provider's file is not a readable image (JPEG, PNG, WebP or GIF)"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InvalidImage(f"the provider's image is damaged ({exc})") from None


def identify(data: bytes) -> ImageFile:
    """Checks that ``data`` decodes as an image in a format WordPress accepts.

    Raises InvalidImage with a reason an editor can read.
    """
    with open_image(data) as image:
        mime_type, extension = _UPLOADABLE[image.format or ""]
        width, height = image.size
    return ImageFile(data, mime_type, extension, width, height)
