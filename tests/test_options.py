"""The site's settings carried by a request: validation, defaults and template filling."""

from __future__ import annotations

import pytest

from bridge.options import GenerationOptions, InvalidOptions, PostContext
from bridge.prompt import build_prompt, fill_template, template_values


def test_missing_options_take_the_plugins_defaults() -> None:
    options = GenerationOptions.from_payload(None)
    assert (options.width, options.height, options.format, options.quality) == (
        1200,
        630,
        "jpeg",
        85,
    )
    assert options.prompt_template == "Title: {title}\n\nDescription: {excerpt}\n"
    assert options.fallback_title_card is False
    assert GenerationOptions.from_payload({}) == options
    assert options.daily_cap == 0  # no cap


def test_options_survive_the_job_record() -> None:
    options = GenerationOptions.from_payload(
        {
            "width": 800,
            "height": 800,
            "format": "webp",
            "style": "watercolour",
            "quality": 70,
            "fallback_title_card": True,
            "daily_cap": 25,
        }
    )
    assert options.fallback_title_card is True
    assert GenerationOptions.from_json(options.to_json()) == options
    assert options.daily_cap == 25
    context = PostContext(site_name="Garden notes", categories=("Plants",), tags=("moss", "stone"))
    assert PostContext.from_json(context.to_json()) == context


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ("big", "data.options must be a JSON object"),
        ({"width": 10}, "data.options.width"),
        ({"height": 5000}, "data.options.height"),
        ({"width": "1200"}, "data.options.width"),
        ({"width": True}, "data.options.width"),
        ({"quality": 0}, "data.options.quality"),
        ({"daily_cap": -1}, "data.options.daily_cap"),
        ({"daily_cap": "10"}, "data.options.daily_cap"),
        ({"format": "gif"}, "data.options.format"),
        ({"replaced_image": "trash"}, "data.options.replaced_image"),
        ({"prompt_template": 3}, "data.options.prompt_template"),
        ({"fallback_title_card": "yes"}, "data.options.fallback_title_card"),
        ({"fallback_title_card": 1}, "data.options.fallback_title_card"),
        ({"prompt_template": "x" * 2001}, "data.options.prompt_template"),
    ],
)
def test_bad_options_are_refused_naming_the_field(options: object, named: str) -> None:
    with pytest.raises(InvalidOptions, match=named.replace(".", r"\.")):
        GenerationOptions.from_payload(options)


def test_bad_categories_are_refused() -> None:
    with pytest.raises(InvalidOptions, match="data.categories"):
        PostContext.from_payload({"categories": "News"})
    with pytest.raises(InvalidOptions, match="data.tags"):
        PostContext.from_payload({"tags": [1, 2]})


def test_a_template_fills_every_placeholder_with_clean_text() -> None:
    context = PostContext(
        site_name="Garden &amp; Co", categories=("Plants", "Stones"), tags=("moss",)
    )
    prompt = build_prompt(
        "<b>Moss</b> gardens",
        "Quiet &amp; green.",
        context=context,
        template="A cover for {site_name}: {title}. {excerpt} Topics: {categories}; {tags}.\n",
        style="soft watercolour",
    )
    assert prompt.text == (
        "A cover for Garden & Co: Moss gardens. Quiet & green. Topics: Plants, Stones; moss.\n"
        "Style: soft watercolour\n"
    )


def test_a_template_cannot_reach_into_python_objects() -> None:
    values = template_values("Title", "", PostContext())
    template = "{title.__class__.__mro__} {0} {title!r} {title:>40} {unknown} {title}"
    assert fill_template(template, values) == (
        "{title.__class__.__mro__} {0} {title!r} {title:>40} {unknown} Title"
    )


def test_control_characters_of_a_template_go_and_single_line_templates_stay_single_line() -> None:
    values = template_values("Title", "", PostContext())
    assert fill_template("Photo:\x00 {title}\n\tby us", values) == "Photo: Title by us"
    prompt = build_prompt("Title", "Text", template="{title}\x07\n\n{excerpt}\n")
    assert prompt.text == "Title\n\nText\n"


def test_a_huge_template_result_is_capped() -> None:
    prompt = build_prompt("word " * 100, "word " * 400, template="{title} {excerpt} " * 5)
    assert len(prompt.text) <= 4000
