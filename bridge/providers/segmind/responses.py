"""Reading Segmind's answers: the request and status records, the image URL in a COMPLETED
output (either documented shape), and a FAILED reason flattened to one readable line."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

COMPLETED = "COMPLETED"
FAILED = "FAILED"

_MAX_REASON = 300
_URL_RE = re.compile(r"https?://[^\s\"'<>]+", re.IGNORECASE)
_WS_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class Submission:
    """A queued Segmind request: its id and where to ask for its status."""

    request_id: str
    poll_url: str


@dataclass(frozen=True)
class PollResult:
    """One status answer. ``image_url`` is set when COMPLETED, ``error`` when FAILED."""

    status: str
    image_url: str | None = None
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.status == COMPLETED

    @property
    def failed(self) -> bool:
        return self.status == FAILED


def one_line(text: str, limit: int) -> str:
    text = _WS_RE.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def looks_like_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith("<") or "<html" in head or "<!doctype" in head


def describe_failure(reason: object, *, limit: int = _MAX_REASON) -> str:
    """Flatten a Segmind failure payload into one readable line.

    Strings are kept (JSON-encoded strings are decoded first), ``[{model, error}, ...]``
    becomes ``"model: error; model2: error2"``, an object contributes its
    message/error/detail/reason field or, lacking one, its compact JSON.
    """
    text = _flatten(reason, depth=0)
    if not text:
        return "no reason given"
    if looks_like_html(text):
        return "the error page was not readable (HTML)"
    return one_line(text, limit)


def _flatten(reason: object, depth: int) -> str:
    if depth > 5:
        return _compact(reason)
    if reason is None:
        return ""
    if isinstance(reason, str):
        stripped = reason.strip()
        if stripped[:1] in ("[", "{"):
            try:
                decoded = json.loads(stripped)
            except ValueError:
                return stripped
            return _flatten(decoded, depth + 1)
        return stripped
    if isinstance(reason, list):
        parts = [_flatten(item, depth + 1) for item in reason]
        return "; ".join(part for part in parts if part)
    if isinstance(reason, dict):
        model = reason.get("model")
        for key in ("error", "message", "error_message", "detail", "reason", "msg"):
            if key in reason and reason[key] not in (None, "", [], {}):
                inner = _flatten(reason[key], depth + 1)
                if inner:
                    if isinstance(model, str) and model.strip():
                        return f"{model.strip()}: {inner}"
                    return inner
        return _compact(reason)
    return str(reason)


def _compact(value: object) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def is_http_url(value: str) -> bool:
    parts = urlsplit(value.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _walk_urls(node: object, marked: bool, depth: int = 0) -> Iterator[tuple[str, bool]]:
    """Yield ``(url, marked_as_image)`` for every http(s) URL in a decoded output."""
    if depth > 20:
        return
    if isinstance(node, str):
        candidate = node.strip()
        if is_http_url(candidate) and not any(c.isspace() for c in candidate):
            yield candidate, marked
        else:
            for match in _URL_RE.finditer(node):
                yield match.group(0), marked
        return
    if isinstance(node, list):
        for item in node:
            yield from _walk_urls(item, marked, depth + 1)
        return
    if isinstance(node, dict):
        kind = node.get("type")
        label = node.get("keyname")
        here = (
            marked
            or (isinstance(kind, str) and kind.lower().startswith("image"))
            or (isinstance(label, str) and "image" in label.lower())
        )
        for key, value in node.items():
            key_marked = here or (isinstance(key, str) and "image" in key.lower())
            yield from _walk_urls(value, key_marked, depth + 1)


def find_image_url(output: object) -> str | None:
    """Find the image URL in a COMPLETED ``output`` (a JSON string or decoded JSON).

    Knows both documented shapes, ``[{"keyname", "value": {"data": URL, "type": "image"}}]``
    and ``{"image_output": URL}``, and tolerates others: the first http(s) URL marked as an
    image (``type: image`` or a key naming an image) wins, else the first http(s) URL.
    A bare URL string is accepted too. Returns None when there is no URL or the output
    is not decodable.
    """
    decoded: object = output
    if isinstance(output, str):
        stripped = output.strip()
        if not stripped:
            return None
        try:
            decoded = json.loads(stripped)
        except ValueError:
            if is_http_url(stripped) and not any(c.isspace() for c in stripped):
                return stripped
            return None
    first: str | None = None
    for url, marked in _walk_urls(decoded, marked=False):
        if marked:
            return url
        if first is None:
            first = url
    return first
