import io

import pytest
from PIL import Image

from bridge.images import InvalidImage, identify


def _encode(fmt: str, size: tuple[int, int] = (64, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "mime", "ext"),
    [("JPEG", "image/jpeg", "jpg"), ("PNG", "image/png", "png"), ("WEBP", "image/webp", "webp")],
)
def test_format_comes_from_the_bytes(fmt: str, mime: str, ext: str) -> None:
    image = identify(_encode(fmt))
    assert (image.mime_type, image.extension, image.width, image.height) == (mime, ext, 64, 32)


@pytest.mark.parametrize(
    "data", [b"", b"<html>not an image</html>", _encode("PNG")[:40], _encode("BMP")]
)
def test_unusable_bytes_are_refused_with_a_reason(data: bytes) -> None:
    with pytest.raises(InvalidImage) as caught:
        identify(data)
    assert str(caught.value)


def test_decompression_bomb_is_refused() -> None:
    with pytest.raises(InvalidImage, match="too large|not a readable"):
        identify(_encode("PNG", (10_000, 5_000)))
