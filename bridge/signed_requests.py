"""Reading a signed request in a Flask route: its raw body and its signature headers."""

from __future__ import annotations

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from bridge.sites import SITE_HEADER


def raw_body() -> bytes:
    """The raw body, at most ``MAX_CONTENT_LENGTH`` bytes; raises 413 past it.

    Werkzeug refuses a larger ``Content-Length`` itself, but a chunked body (no length) is
    only cut at the limit, which would surface as a bad signature instead of a 413.
    """
    body = request.get_data(cache=False)
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if request.content_length is None and limit is not None and len(body) >= limit:
        raise RequestEntityTooLarge()
    return body


SIGNED_REQUEST_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature", SITE_HEADER)


def signature_headers() -> dict[str, str]:
    """The headers a signed request is checked with (``SiteRouter.verify``), by lower-case
    name; one that is absent is missing from the mapping. Only these are read: copying every
    header of every request costs more than the signature check."""
    headers = request.headers
    return {name: headers[name] for name in SIGNED_REQUEST_HEADERS if name in headers}
