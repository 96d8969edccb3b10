"""Signed webhooks as the plugin sends them (Standard Webhooks), for driving the bridge."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from standardwebhooks import Webhook


def payload(site_url: str, post_id: int, title: str, excerpt: str = "") -> dict[str, Any]:
    """A ``post.published`` webhook body for one post."""
    return {
        "type": "post.published",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": {
            "site_url": site_url,
            "post_id": post_id,
            "post_type": "post",
            "title": title,
            "excerpt": excerpt,
            "slug": f"post-{post_id}",
            "modified_gmt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "link": f"{site_url}/?p={post_id}",
        },
    }


class Signer:
    """Signs bodies with the webhook secret; every call gets a new ``webhook-id``."""

    def __init__(self, secret: str) -> None:
        self._webhook = Webhook(secret)

    def sign(self, body: bytes) -> dict[str, str]:
        msg_id = f"msg_{uuid.uuid4().hex}"
        stamp = int(time.time())
        when = datetime.fromtimestamp(stamp, tz=UTC)
        return {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": self._webhook.sign(msg_id, when, body.decode()),
        }

    def signed(self, data: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(data).encode()
        return body, self.sign(body)
