from bridge.prompt import EXCERPT_LIMIT, TITLE_LIMIT, build_prompt, clean_text


def test_workflow_input_has_the_documented_shape() -> None:
    prompt = build_prompt("Hello world", "A first post.")
    assert prompt.text == "Title: Hello world\n\nDescription: A first post.\n"


def test_html_and_scripts_are_removed_and_entities_decoded() -> None:
    prompt = build_prompt(
        "Caf&eacute; <em>culture</em> &amp; code",
        "<p>Read <a href='/x'>this</a>.</p><script>alert('x')</script><style>p{}</style>",
    )
    assert prompt.title == "Café culture & code"
    assert prompt.excerpt == "Read this ."
    assert "alert" not in prompt.text and "<" not in prompt.text


def test_empty_excerpt_keeps_the_description_line() -> None:
    prompt = build_prompt("Only a title", "")
    assert prompt.text == "Title: Only a title\n\nDescription: \n"


def test_empty_title_gets_a_placeholder() -> None:
    assert build_prompt("<b></b>", "x").title == "Untitled post"


def test_very_long_title_is_cut_at_a_word_boundary() -> None:
    title = "word " * 5000
    prompt = build_prompt(title, "e" * 50_000)
    assert len(prompt.title) <= TITLE_LIMIT
    assert prompt.title.endswith("word…")
    assert len(prompt.excerpt) <= EXCERPT_LIMIT


def test_non_latin_titles_survive() -> None:
    prompt = build_prompt("日本語のタイトル", "مرحبا بالعالم — привет мир 👩‍💻")
    assert prompt.title == "日本語のタイトル"
    assert prompt.excerpt == "مرحبا بالعالم — привет мир 👩‍💻"


def test_control_characters_and_bidi_overrides_are_dropped() -> None:
    assert clean_text("a\x00b\u202ec\n\nd\te", 100) == "a b c d e"


def test_shortcodes_are_removed() -> None:
    assert clean_text('Intro [gallery ids="1,2"] text [/caption]', 100) == "Intro text"


def test_persian_zero_width_non_joiner_is_kept() -> None:
    assert clean_text("می\u200cخواهم", 100) == "می\u200cخواهم"
