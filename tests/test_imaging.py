"""Re-encoding what is uploaded: size, format, orientation, colour modes, metadata, bombs."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from bridge.images import InvalidImage
from bridge.imaging import ImageOptions, check_image, render

GPS_IFD = 0x8825
ORIENTATION = 0x0112
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def _decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[ORIENTATION] = orientation
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    return exif


def _with_metadata(fmt: str) -> bytes:
    """A photo carrying EXIF with GPS, XMP, a comment and an ICC profile."""
    image = Image.new("RGB", (400, 300), (200, 120, 40))
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><secret>Home address</secret></x:xmpmeta>'
    params: dict[str, object] = {"exif": _exif_with_gps().tobytes(), "icc_profile": SRGB}
    if fmt == "JPEG":
        params.update(comment=b"secret comment", xmp=xmp)
    elif fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", "secret comment")
        info.add_itxt("XML:com.adobe.xmp", xmp.decode())
        params["pnginfo"] = info
    elif fmt == "WEBP":
        params["xmp"] = xmp
    return _encode(image, fmt, **params)


def test_defaults_are_1200_by_630_jpeg_85() -> None:
    options = ImageOptions()
    assert (options.width, options.height, options.format, options.quality) == (
        1200,
        630,
        "jpeg",
        85,
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"width": 63},
        {"width": 4097},
        {"height": 0},
        {"width": 100.5},
        {"width": True},
        {"quality": 0},
        {"quality": 101},
        {"format": "gif"},
        {"format": "JPEG"},
    ],
)
def test_options_out_of_bounds_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ImageOptions(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fmt", "pillow_format", "mime", "extension"),
    [
        ("jpeg", "JPEG", "image/jpeg", "jpg"),
        ("webp", "WEBP", "image/webp", "webp"),
        ("png", "PNG", "image/png", "png"),
    ],
)
@pytest.mark.parametrize("source_size", [(1024, 576), (300, 900), (64, 64), (3000, 400)])
def test_every_format_comes_out_at_the_asked_size(
    fmt: str, pillow_format: str, mime: str, extension: str, source_size: tuple[int, int]
) -> None:
    source = _encode(Image.new("RGB", source_size, (30, 90, 200)), "PNG")
    result = render(source, ImageOptions(width=800, height=420, format=fmt))  # type: ignore[arg-type]
    decoded = _decode(result.data)
    assert decoded.format == pillow_format
    assert decoded.size == (800, 420) == (result.width, result.height)
    assert (result.mime_type, result.extension) == (mime, extension)


def test_quality_changes_the_jpeg() -> None:
    noisy = Image.effect_noise((600, 400), 80).convert("RGB")
    source = _encode(noisy, "PNG")
    low = render(source, ImageOptions(quality=10))
    high = render(source, ImageOptions(quality=95))
    assert len(low.data) < len(high.data)


def test_the_crop_covers_and_keeps_the_centre() -> None:
    """A tall image: left third red, centre green, right third blue, cropped to a wide box."""
    image = Image.new("RGB", (300, 900), (0, 200, 0))
    image.paste((200, 0, 0), (0, 0, 100, 900))
    image.paste((0, 0, 200), (200, 0, 300, 900))
    result = _decode(render(_encode(image, "PNG"), ImageOptions(width=300, height=100)).data)
    red, green, _ = result.getpixel((150, 50))  # type: ignore[misc]
    assert green > 150 and red < 60
    left = result.getpixel((10, 50))
    assert left[0] > 150  # type: ignore[index]


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("out", ["jpeg", "webp", "png"])
def test_metadata_is_gone(fmt: str, out: str) -> None:
    source = _with_metadata(fmt)
    original = _decode(source)
    assert original.getexif().get_ifd(GPS_IFD) and original.info.get("icc_profile")
    assert b"CameraMaker" in source and b"Home address" in source
    result = render(source, ImageOptions(format=out))  # type: ignore[arg-type]
    decoded = _decode(result.data)
    assert len(decoded.getexif()) == 0
    assert not decoded.getexif().get_ifd(GPS_IFD)
    for key in ("exif", "xmp", "XML:com.adobe.xmp", "comment", "Comment", "icc_profile"):
        assert key not in decoded.info
    for marker in (b"Exif", b"CameraMaker", b"secret", b"Home address", b"xmpmeta"):
        assert marker not in result.data


def test_an_icc_profile_is_applied_then_dropped() -> None:
    """The pixels go through the profile (sRGB to sRGB keeps them) and the output carries
    no profile."""
    image = Image.new("RGB", (200, 200), (0, 255, 0))
    plain = render(_encode(image, "PNG"), ImageOptions(width=64, height=64, format="png"))
    tagged = render(
        _encode(image, "PNG", icc_profile=SRGB),
        ImageOptions(width=64, height=64, format="png"),
    )
    assert "icc_profile" not in _decode(tagged.data).info
    assert _decode(tagged.data).getpixel((5, 5)) == _decode(plain.data).getpixel((5, 5))


def test_a_broken_icc_profile_is_ignored() -> None:
    data = _encode(Image.new("RGB", (100, 100), (1, 2, 3)), "PNG", icc_profile=b"not a profile")
    result = render(data, ImageOptions(width=64, height=64, format="png"))
    assert "icc_profile" not in _decode(result.data).info


@pytest.mark.parametrize(
    ("orientation", "expected_size"),
    [(1, (400, 200)), (3, (400, 200)), (6, (200, 400)), (8, (200, 400))],
)
def test_exif_orientation_is_applied(orientation: int, expected_size: tuple[int, int]) -> None:
    """The stored pixels are 400×200 with a red left half; the EXIF tag says how to turn them.
    Rendering to the displayed shape must show the displayed picture."""
    image = Image.new("RGB", (400, 200), (0, 0, 220))
    image.paste((220, 0, 0), (0, 0, 200, 200))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    source = _encode(image, "JPEG", exif=exif.tobytes(), quality=95)
    width, height = expected_size
    result = _decode(
        render(source, ImageOptions(width=width, height=height, format="png")).data
    ).convert("RGB")
    assert result.size == expected_size
    red_corner = {1: (10, 10), 3: (width - 10, 10), 6: (10, 10), 8: (10, height - 10)}
    blue_corner = {1: (width - 10, 10), 3: (10, 10), 6: (10, height - 10), 8: (10, 10)}
    assert result.getpixel(red_corner[orientation])[0] > 150  # type: ignore[index]
    assert result.getpixel(blue_corner[orientation])[2] > 150  # type: ignore[index]


def test_cmyk_jpeg_comes_out_rgb() -> None:
    cmyk = Image.new("CMYK", (300, 200), (0, 255, 255, 0))  # red in CMYK
    result = render(_encode(cmyk, "JPEG"), ImageOptions(width=64, height=64))
    decoded = _decode(result.data)
    assert decoded.mode == "RGB"
    red, green, blue = decoded.getpixel((32, 32))  # type: ignore[misc]
    assert red > 200 and green < 60 and blue < 60


def test_palette_with_transparency_keeps_alpha_in_png_and_webp() -> None:
    palette = Image.new("P", (100, 100), 0)
    palette.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    palette.paste(1, (50, 0, 100, 100))
    source = _encode(palette, "PNG", transparency=0)
    for fmt in ("png", "webp"):
        decoded = _decode(render(source, ImageOptions(width=64, height=64, format=fmt)).data)  # type: ignore[arg-type]
        assert decoded.mode == "RGBA"
        assert decoded.getpixel((5, 32))[3] == 0  # type: ignore[index]
        assert decoded.getpixel((60, 32))[3] == 255  # type: ignore[index]


def test_alpha_is_flattened_on_white_for_jpeg() -> None:
    rgba = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (50, 0, 100, 100))
    decoded = _decode(render(_encode(rgba, "PNG"), ImageOptions(width=64, height=64)).data)
    assert decoded.mode == "RGB"
    assert min(decoded.getpixel((3, 32))) > 240  # type: ignore[type-var]
    assert decoded.getpixel((60, 32))[2] > 200  # type: ignore[index]


@pytest.mark.parametrize("mode", ["L", "LA", "1", "I;16"])
def test_other_modes_are_converted(mode: str) -> None:
    image = Image.new(mode, (120, 80), 1 if mode == "1" else 40000 if mode == "I;16" else 128)
    result = render(_encode(image, "PNG"), ImageOptions(width=64, height=64, format="png"))
    decoded = _decode(result.data)
    assert decoded.mode in ("RGB", "RGBA") and decoded.size == (64, 64)


def test_animated_gif_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (80, 80), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100)
    decoded = _decode(render(out.getvalue(), ImageOptions(width=64, height=64)).data)
    assert decoded.getpixel((32, 32))[0] > 200  # type: ignore[index]


def test_a_decompression_bomb_is_refused_before_decoding() -> None:
    """An 8000×6000 PNG of one colour is tens of KB but would decode to 144 MB of RGB."""
    bomb = _encode(Image.new("L", (8_000, 6_000), 0), "PNG")
    assert len(bomb) < 1024 * 1024
    with pytest.raises(InvalidImage, match="too large"):
        render(bomb)
    with pytest.raises(InvalidImage):
        check_image(bomb)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<html>not an image</html>",
        _encode(Image.new("RGB", (64, 64)), "PNG")[:60],
        _encode(Image.new("RGB", (64, 64)), "BMP"),
        _encode(Image.new("RGB", (64, 64)), "TIFF"),
    ],
)
def test_unusable_input_is_a_clear_error(data: bytes) -> None:
    with pytest.raises(InvalidImage) as caught:
        render(data)
    assert str(caught.value)
