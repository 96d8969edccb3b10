"""Builds genuinely signed webhook requests for tests (Standard Webhooks)."""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def event(post_id: int = 7, site_url: str = "http://127.0.0.1:9", **data: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "site_url": site_url,
        "post_id": post_id,
        "post_type": "post",
        "title": "Hello world",
        "excerpt": "A first post.",
        "slug": "hello-world",
        "modified_gmt": "2026-11-25T06:00:00Z",
        "link": f"{site_url}/hello-world/",
    }
    body.update(data)
    return {"type": "post.published", "timestamp": "2026-11-25T06:00:00Z", "data": body}


def signed(
    secret: str,
    payload: Any,
    *,
    timestamp: float | None = None,
    msg_id: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The body and the headers WordPress would send."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    stamp = int(time.time() if timestamp is None else timestamp)
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(stamp, tz=UTC), body.decode())
    return body, {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature,
    }


def signed_get(
    secret: str, *, timestamp: float | None = None, msg_id: str | None = None
) -> dict[str, str]:
    """The headers of a signed ``GET`` (signed over the empty body)."""
    _, headers = signed(secret, b"", timestamp=timestamp, msg_id=msg_id)
    del headers["content-type"]
    return headers
