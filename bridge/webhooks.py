"""Incoming webhooks: signature check on the raw body (Standard Webhooks), then the payload."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import urlsplit

from bridge.options import GenerationOptions, InvalidOptions, PostContext

EVENT_PUBLISHED = "post.published"
EVENT_UPDATED = "post.updated"
EVENT_REGENERATE = "post.regenerate"
EVENT_BACKFILL = "post.backfill"
EVENT_CONNECTION_TEST = "connection.test"
POST_EVENTS = (EVENT_PUBLISHED, EVENT_UPDATED, EVENT_REGENERATE, EVENT_BACKFILL)
_POST_TYPE = re.compile(r"^[a-z0-9_-]{1,20}$")
TEXT_LIMIT = 20_000


class WebhookRejected(Exception):
    """A request the bridge refuses: an HTTP status, a machine-readable code, a reason."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PostEvent:
    """A validated request for a post's featured image (any of ``POST_EVENTS``)."""

    webhook_id: str
    request: str
    replace: bool
    context: PostContext
    options: GenerationOptions
    site_url: str
    post_id: int
    post_type: str
    title: str
    excerpt: str
    slug: str


class SignatureVerifier:
    """Checks ``webhook-id``, ``webhook-timestamp`` (±5 min) and ``webhook-signature``.

    Standard Webhooks, computed here on the raw body (what the reference library does, without
    its per-request datetime and string work): HMAC-SHA256 of ``id.timestamp.body`` with the
    secret's bytes, compared in constant time with each ``v1`` signature of the header. With
    several secrets (a site rotating its secret) a signature matching any of them passes.
    """

    def __init__(self, secret: str | Sequence[str]) -> None:
        secrets = [secret] if isinstance(secret, str) else list(secret)
        if not secrets:
            raise ValueError("a verifier needs at least one secret")
        self._keys = [_secret_key(item) for item in secrets]

    def verify(self, body: bytes, headers: Mapping[str, str]) -> str:
        """Returns the ``webhook-id`` of a genuine request; raises WebhookRejected (401).

        ``headers`` must have lower-case names.
        """
        wanted = {name: headers.get(name, "") for name in _SIGNATURE_HEADERS}
        if not all(wanted.values()):
            missing = ", ".join(name for name, value in wanted.items() if not value)
            raise WebhookRejected(401, "missing_signature", f"missing header(s): {missing}")
        _check_header_forms(wanted)
        msg_id, stamp = wanted["webhook-id"], wanted["webhook-timestamp"]
        now = time.time()
        if int(stamp) < now - TOLERANCE_SECONDS:
            _stale("Message timestamp too old")
        if int(stamp) > now + TOLERANCE_SECONDS:
            _stale("Message timestamp too new")
        signed = f"{msg_id}.{stamp}.".encode() + body
        sent = [entry.encode() for entry in wanted["webhook-signature"].split(" ")]
        for key in self._keys:
            digest = hmac.new(key, signed, hashlib.sha256).digest()
            expected = b"v1," + base64.b64encode(digest)
            if any(hmac.compare_digest(expected, entry) for entry in sent):
                return msg_id
        raise WebhookRejected(
            401, "invalid_signature", "the signature does not match the webhook secret"
        )

    def verify_get(self, headers: Mapping[str, str]) -> str:
        """Checks a signed ``GET`` (signed over the empty body, see docs/protocol.md).

        Returns the ``webhook-id``; raises WebhookRejected (401) like :meth:`verify`.
        """
        return self.verify(b"", headers)


TOLERANCE_SECONDS = 300
"""How far a ``webhook-timestamp`` may be from the bridge's clock (Standard Webhooks: 5 min)."""
_SECRET_PREFIX = "whsec_"
_SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


def _secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret, decoded as the reference library does (base64,
    padding added, the prefix optional); raises ValueError for an empty one."""
    key = base64.b64decode(secret.removeprefix(_SECRET_PREFIX) + "==")
    if not key:
        raise ValueError("webhook secret may not be empty")
    return key


def _stale(reason: str) -> NoReturn:
    raise WebhookRejected(
        401, "stale_timestamp", f"{reason}: check that the clocks of WordPress and the bridge agree"
    )


_WEBHOOK_ID = re.compile(r"[!-~]{1,200}")
_TIMESTAMP = re.compile(r"[1-9][0-9]{0,11}")
_SIGNATURE_ENTRY = re.compile(r"v[0-9]{1,3}[a-z]?,[A-Za-z0-9+/=]{1,200}")
_MAX_SIGNATURES = 8


def _check_header_forms(headers: Mapping[str, str]) -> None:
    """Accepts each header in its one canonical spelling only.

    The reference library reads timestamps with ``float`` and signatures with lenient base64,
    so ``01700000000``, ``1_700_000_000`` or a signature with stray characters would verify as
    the genuine request; here they are refused before the HMAC is compared.
    """
    if not _WEBHOOK_ID.fullmatch(headers["webhook-id"]):
        raise WebhookRejected(
            401, "invalid_signature", "the webhook-id header is malformed (1-200 visible ASCII)"
        )
    if not _TIMESTAMP.fullmatch(headers["webhook-timestamp"]):
        raise WebhookRejected(
            401, "invalid_signature", "the webhook-timestamp header is not Unix time in seconds"
        )
    entries = headers["webhook-signature"].split(" ")
    if len(entries) > _MAX_SIGNATURES or not all(_SIGNATURE_ENTRY.fullmatch(e) for e in entries):
        raise WebhookRejected(401, "invalid_signature", "the webhook-signature header is malformed")
    for entry in entries:
        version, _, value = entry.partition(",")
        if version == "v1" and not _is_canonical_hmac(value):
            raise WebhookRejected(
                401, "invalid_signature", "the webhook-signature header is malformed"
            )


def _is_canonical_hmac(value: str) -> bool:
    """Whether ``value`` is the one base64 spelling of a 32-byte HMAC-SHA256."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) == 32 and base64.b64encode(raw).decode() == value


def load_json_object(body: bytes) -> dict[str, Any]:
    """The JSON object of a verified body; raises WebhookRejected (400 or 422).

    Hostile JSON (nested too deep, numbers too long to read) is a 400 like any bad JSON.
    """
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WebhookRejected(400, "malformed_json", f"the body is not valid JSON: {exc}") from None
    except (RecursionError, ValueError):
        raise WebhookRejected(
            400,
            "malformed_json",
            "the body is JSON the bridge cannot read (too deeply nested or a number too long)",
        ) from None
    if not isinstance(payload, dict):
        raise WebhookRejected(422, "invalid_payload", "the body must be a JSON object")
    return payload


def parse_event(webhook_id: str, body: bytes) -> PostEvent:
    """Validates a verified body; raises WebhookRejected (400 or 422) naming the field."""
    payload = load_json_object(body)
    request = payload.get("type")
    if request not in POST_EVENTS:
        raise WebhookRejected(
            422,
            "unsupported_event",
            f"type must be one of {', '.join(POST_EVENTS)}; got {request!r}",
        )
    data = payload.get("data")
    if not isinstance(data, dict):
        raise WebhookRejected(422, "invalid_payload", "data must be a JSON object")
    site_url = _text(data, "site_url", limit=2000)
    if urlsplit(site_url).scheme not in ("http", "https"):
        raise WebhookRejected(422, "invalid_payload", "data.site_url must be an http(s) URL")
    post_id = data.get("post_id")
    if type(post_id) is not int or post_id <= 0:
        raise WebhookRejected(422, "invalid_payload", "data.post_id must be a positive integer")
    post_type = _text(data, "post_type", limit=20)
    if not _POST_TYPE.match(post_type):
        raise WebhookRejected(422, "invalid_payload", "data.post_type is not a post type name")
    replace = data.get("replace", False)
    if not isinstance(replace, bool):
        raise WebhookRejected(422, "invalid_payload", "data.replace must be true or false")
    try:
        context = PostContext.from_payload(data)
        options = GenerationOptions.from_payload(data.get("options"))
    except InvalidOptions as exc:
        raise WebhookRejected(422, "invalid_payload", str(exc)) from None
    return PostEvent(
        webhook_id=webhook_id,
        request=str(request),
        replace=replace or request == EVENT_REGENERATE,
        context=context,
        options=options,
        site_url=site_url,
        post_id=post_id,
        post_type=post_type,
        title=_text(data, "title"),
        excerpt=_text(data, "excerpt", required=False),
        slug=_text(data, "slug", required=False, limit=2000),
    )


def parse_connection_test(body: bytes) -> str:
    """Validates a verified ``connection.test`` body; returns the site URL it names."""
    payload = load_json_object(body)
    if payload.get("type") != EVENT_CONNECTION_TEST:
        raise WebhookRejected(422, "unsupported_event", f"type must be {EVENT_CONNECTION_TEST!r}")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise WebhookRejected(422, "invalid_payload", "data must be a JSON object")
    return _text(data, "site_url", limit=2000)


def _text(
    data: dict[str, Any], name: str, *, required: bool = True, limit: int = TEXT_LIMIT
) -> str:
    value = data.get(name, None if required else "")
    if not isinstance(value, str):
        raise WebhookRejected(422, "invalid_payload", f"data.{name} must be a string")
    if len(value) > limit:
        raise WebhookRejected(
            422, "invalid_payload", f"data.{name} is longer than {limit} characters"
        )
    return value


def same_site(a: str, b: str) -> bool:
    """Whether two site URLs name the same WordPress (scheme, host, port and path)."""
    left, right = urlsplit(a), urlsplit(b)
    return (
        left.scheme.lower() == right.scheme.lower()
        and left.netloc.lower() == right.netloc.lower()
        and left.path.rstrip("/") == right.path.rstrip("/")
    )
