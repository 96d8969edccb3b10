import io

from PIL import Image

from bridge.images import identify
from bridge.prompt import build_prompt
from bridge.providers.local import LocalProvider, render_title_card


class _NoCheckpoint:
    def load(self) -> str | None:
        return None

    def save(self, reference: str) -> None:
        raise AssertionError("the local provider has nothing to checkpoint")


def _render(title: str, excerpt: str) -> Image.Image:
    data = LocalProvider().generate(build_prompt(title, excerpt), _NoCheckpoint())
    assert identify(data).mime_type == "image/jpeg"
    return Image.open(io.BytesIO(data))


def test_title_card_is_a_1200_by_630_jpeg() -> None:
    image = _render("Why slow mornings make better developers", "Notes from a year.")
    assert image.format == "JPEG"
    assert image.size == (1200, 630)


def test_text_is_drawn_on_the_card() -> None:
    with_text = _render("A title", "An excerpt")
    # The same palette (seeded by the title) without text differs only where text is drawn.
    plain = render_title_card("A title", "").convert("L")
    drawn = with_text.convert("L")
    bright_plain = sum(plain.histogram()[231:])
    bright_drawn = sum(drawn.histogram()[231:])
    assert bright_drawn > bright_plain


def test_same_title_gives_same_colours_and_different_titles_differ() -> None:
    first = _render("Same title", "").getpixel((5, 5))
    again = _render("Same title", "").getpixel((5, 5))
    other = _render("Another title entirely", "").getpixel((5, 5))
    assert first == again
    assert first != other


def test_long_and_non_latin_titles_render() -> None:
    _render("長い日本語のタイトル " * 40, "مرحبا " * 300)
    _render("x" * 10_000, "")
