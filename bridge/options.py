"""What a request asks for beyond the post itself: the site's prompt, image and text settings.

The plugin sends them with every request (``data.options`` in docs/protocol.md), so what an
editor sets on the settings page applies to the next generation. Every field has a default, and
every value is checked here: a request with a bad one is refused with the field's name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, cast

DEFAULT_PROMPT_TEMPLATE = "Title: {title}\n\nDescription: {excerpt}\n"
TEMPLATE_LIMIT = 2000
NAME_LIMIT = 100
NAMES_LIMIT = 20
DAILY_CAP_LIMIT = 1_000_000

ImageFormat = Literal["jpeg", "webp", "png"]
ReplacedImage = Literal["keep", "delete"]
_FORMATS: tuple[ImageFormat, ...] = ("jpeg", "webp", "png")
_REPLACED: tuple[ReplacedImage, ...] = ("keep", "delete")


class InvalidOptions(ValueError):
    """A request's options are unusable; the message names the field."""


@dataclass(frozen=True)
class PostContext:
    """The post's surroundings that templates may use: site name, categories and tags."""

    site_name: str = ""
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> PostContext:
        """Reads ``site_name``, ``categories`` and ``tags`` from a webhook's ``data``."""
        return cls(
            site_name=_string(data, "site_name", NAME_LIMIT * 2),
            categories=_names(data, "categories"),
            tags=_names(data, "tags"),
        )

    def to_json(self) -> str:
        # The fields are plain values (no nested dataclass), so the instance's own dict is
        # what ``asdict`` would copy, in field order; a webhook pays for this on every job.
        return json.dumps(vars(self))

    @classmethod
    def from_json(cls, text: str) -> PostContext:
        data = json.loads(text or "{}")
        return cls(
            site_name=str(data.get("site_name", "")),
            categories=tuple(data.get("categories", ())),
            tags=tuple(data.get("tags", ())),
        )


@dataclass(frozen=True)
class GenerationOptions:
    """The site's settings for one generation (defaults: the plugin's defaults)."""

    prompt_template: str = DEFAULT_PROMPT_TEMPLATE
    style: str = ""
    width: int = 1200
    height: int = 630
    format: ImageFormat = "jpeg"
    quality: int = 85
    alt_template: str = "{title}"
    title_template: str = "{title}"
    caption_template: str = ""
    replaced_image: ReplacedImage = "keep"
    fallback_title_card: bool = False
    """When the provider's run fails (not the key), upload the local title card instead."""
    daily_cap: int = 0
    """Most generations a day (UTC) for the site; 0: no cap."""

    @classmethod
    def from_payload(cls, raw: object) -> GenerationOptions:
        """Validates ``data.options``; missing fields take their defaults.

        Raises InvalidOptions naming the first bad field.
        """
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise InvalidOptions("data.options must be a JSON object")
        defaults = cls()
        template = _string(raw, "prompt_template", TEMPLATE_LIMIT, multiline=True)
        image_format = raw.get("format", defaults.format)
        if image_format not in _FORMATS:
            raise InvalidOptions(f"data.options.format must be one of {', '.join(_FORMATS)}")
        replaced = raw.get("replaced_image", defaults.replaced_image)
        if replaced not in _REPLACED:
            raise InvalidOptions("data.options.replaced_image must be keep or delete")
        return cls(
            prompt_template=template or defaults.prompt_template,
            style=_string(raw, "style", 500),
            width=_integer(raw, "width", defaults.width, 64, 4096),
            height=_integer(raw, "height", defaults.height, 64, 4096),
            format=cast(ImageFormat, image_format),
            quality=_integer(raw, "quality", defaults.quality, 1, 100),
            alt_template=_string(raw, "alt_template", 500, default=defaults.alt_template),
            title_template=_string(raw, "title_template", 500, default=defaults.title_template),
            caption_template=_string(raw, "caption_template", 500),
            replaced_image=cast(ReplacedImage, replaced),
            fallback_title_card=_boolean(raw, "fallback_title_card", defaults.fallback_title_card),
            daily_cap=_integer(raw, "daily_cap", defaults.daily_cap, 0, DAILY_CAP_LIMIT),
        )

    def to_json(self) -> str:
        return json.dumps(vars(self))  # plain fields, as in PostContext.to_json

    @classmethod
    def from_json(cls, text: str) -> GenerationOptions:
        return cls.from_payload(json.loads(text or "{}"))


def _string(
    data: dict[str, Any], name: str, limit: int, *, default: str = "", multiline: bool = False
) -> str:
    value = data.get(name, default)
    if not isinstance(value, str):
        raise InvalidOptions(f"{_where(name)} must be a string")
    if len(value) > limit:
        raise InvalidOptions(f"{_where(name)} is longer than {limit} characters")
    if not multiline:
        value = " ".join(value.split())
    return value


def _where(name: str) -> str:
    return f"data.{name}" if name == "site_name" else f"data.options.{name}"


def _integer(data: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = data.get(name, default)
    if type(value) is not int or not low <= value <= high:
        raise InvalidOptions(f"data.options.{name} must be a whole number from {low} to {high}")
    return value


def _boolean(data: dict[str, Any], name: str, default: bool) -> bool:
    value = data.get(name, default)
    if not isinstance(value, bool):
        raise InvalidOptions(f"data.options.{name} must be true or false")
    return value


def _names(data: dict[str, Any], name: str) -> tuple[str, ...]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidOptions(f"data.{name} must be a list of strings")
    return tuple(" ".join(item.split())[:NAME_LIMIT] for item in value[:NAMES_LIMIT])
