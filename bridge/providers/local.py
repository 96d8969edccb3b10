"""The local provider: a designed 1200×630 title card drawn with Pillow.

No key, no network: it is what runs when no SEGMIND_API_KEY is set, so the whole loop
works on a fresh machine.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import groupby
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from bridge.providers.base import Checkpoint, Prompt

WIDTH, HEIGHT = 1200, 630
MARGIN = 80
_FONTS = Path("/usr/share/fonts/truetype")
_LATIN = {True: _FONTS / "dejavu/DejaVuSans-Bold.ttf", False: _FONTS / "dejavu/DejaVuSans.ttf"}
# DejaVu has no Chinese, Japanese or Korean glyphs; Droid Sans Fallback has them (and Latin).
_CJK = _FONTS / "droid/DroidSansFallbackFull.ttf"
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=32)
def _load(path: Path, size: int) -> Font:
    if path.is_file():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


@dataclass(frozen=True)
class _Typeface:
    """DejaVu (Debian's fonts-dejavu-core) for most scripts, Droid Sans Fallback
    (fonts-droid-fallback) for East Asian wide characters; Pillow's own font if neither."""

    bold: bool
    size: int

    def runs(self, text: str) -> list[tuple[str, Font]]:
        """Splits ``text`` into runs that one font can draw."""
        result: list[tuple[str, Font]] = []
        for wide, group in groupby(text, key=_is_wide):
            font = _load(_CJK if wide and _CJK.is_file() else _LATIN[self.bold], self.size)
            result.append(("".join(group), font))
        return result

    def measure(self, draw: ImageDraw.ImageDraw, text: str) -> float:
        return sum(draw.textlength(run, font=font) for run, font in self.runs(text))

    def draw(self, draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str) -> None:
        x, y = xy
        colour = (255, 255, 255) if self.bold else (235, 238, 245)
        for run, font in self.runs(text):
            draw.text((x, y), run, font=font, fill=colour)
            x += draw.textlength(run, font=font)


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _palette(seed: str) -> tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]:
    """Two background colours and an accent, stable for a given title."""
    digest = hashlib.sha256(seed.encode()).digest()
    hue = digest[0] / 255

    def rgb(h: float, lightness: float, saturation: float) -> tuple[int, int, int]:
        r, g, b = colorsys.hls_to_rgb(h % 1.0, lightness, saturation)
        return round(r * 255), round(g * 255), round(b * 255)

    return rgb(hue, 0.18, 0.50), rgb(hue + 0.10, 0.40, 0.55), rgb(hue + 0.45, 0.65, 0.85)


def _wrap(draw: ImageDraw.ImageDraw, text: str, face: _Typeface, width: int) -> list[str]:
    """Greedy word wrap; words wider than a line (or unspaced CJK text) are broken."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}".strip()
        if face.measure(draw, candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        while face.measure(draw, word) > width and len(word) > 1:
            cut = len(word)
            while cut > 1 and face.measure(draw, word[:cut]) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    if line:
        lines.append(line)
    return lines


def _fit_title(draw: ImageDraw.ImageDraw, title: str, width: int) -> tuple[_Typeface, list[str]]:
    """The largest title size that fits in three lines, else four lines at the smallest."""
    for size in (72, 64, 56, 48, 42):
        face = _Typeface(bold=True, size=size)
        lines = _wrap(draw, title, face, width)
        if len(lines) <= 3:
            return face, lines
    return face, _ellipsize(lines, 4)


def _ellipsize(lines: Sequence[str], keep: int) -> list[str]:
    if len(lines) <= keep:
        return list(lines)
    return [*lines[: keep - 1], lines[keep - 1].rstrip(" .,;:") + "…"]


def render_title_card(title: str, excerpt: str) -> Image.Image:
    """Draws the card: a diagonal gradient, soft circles, the title and the excerpt."""
    dark, light, accent = _palette(title)
    image = Image.new("RGB", (WIDTH, HEIGHT), dark)
    side = math.ceil(math.hypot(WIDTH, HEIGHT))
    gradient = Image.linear_gradient("L").resize((side, side)).rotate(55)
    left, top = (side - WIDTH) // 2, (side - HEIGHT) // 2
    mask = gradient.crop((left, top, left + WIDTH, top + HEIGHT))
    image.paste(Image.new("RGB", (WIDTH, HEIGHT), light), mask=mask)

    overlay = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    shapes = ImageDraw.Draw(overlay)
    shapes.ellipse((WIDTH - 420, -180, WIDTH + 180, 420), fill=(*accent, 60))
    shapes.ellipse((WIDTH - 260, HEIGHT - 220, WIDTH + 60, HEIGHT + 100), fill=(255, 255, 255, 28))
    image.paste(overlay, mask=overlay)

    draw = ImageDraw.Draw(image)
    text_width = WIDTH - 2 * MARGIN - 120
    draw.rectangle((MARGIN, MARGIN, MARGIN + 96, MARGIN + 10), fill=accent)
    title_face, title_lines = _fit_title(draw, title, text_width)
    y = MARGIN + 50
    for line in title_lines:
        title_face.draw(draw, (MARGIN, y), line)
        y += int(title_face.size * 1.18)

    if excerpt:
        body_face = _Typeface(bold=False, size=30)
        y += 28
        for line in _ellipsize(_wrap(draw, excerpt, body_face, text_width), 3):
            if y > HEIGHT - MARGIN - 30:
                break
            body_face.draw(draw, (MARGIN, y), line)
            y += 42
    return image


class LocalProvider:
    """Renders a title card locally; deterministic, free and instant."""

    name = "local"

    def __init__(self, quality: int = 88) -> None:
        self.quality = quality

    def generate(self, prompt: Prompt, checkpoint: Checkpoint) -> bytes:
        image = render_title_card(prompt.title, prompt.excerpt)
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=self.quality, optimize=True, progressive=True)
        return buffer.getvalue()
