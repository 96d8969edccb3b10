"""What the plugin sends (payload v2, docs/protocol.md), caught by a real HTTP listener that
answers like the bridge."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from devenv.posts import EditorSession
from devenv.wordpress import LocalWordPress

pytestmark = pytest.mark.wordpress


class _Recorder(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.received.append(json.loads(body))
        answer = json.dumps({"job_id": f"rec-{len(self.received)}", "status": "queued"}).encode()
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recorder(site: LocalWordPress) -> Iterator[list[dict[str, Any]]]:
    """Points the plugin at a listener that records each webhook and answers 202."""
    received: list[dict[str, Any]] = []
    handler = type("Recorder", (_Recorder,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    previous = site.plugin_settings()
    site.update_plugin_settings(bridge_url=f"http://127.0.0.1:{server.server_port}", enabled=True)
    yield received
    site.update_plugin_settings(**previous)
    server.shutdown()
    server.server_close()


def test_published_post_sends_site_terms_and_default_options(
    site: LocalWordPress, recorder: list[dict[str, Any]], editor: EditorSession
) -> None:
    category = editor.call("POST", "/wp/v2/categories", json={"name": "Sea & Boats"})["id"]
    tag = editor.call("POST", "/wp/v2/tags", json={"name": "harbour"})["id"]
    post_id = editor.create_post("Ferries at dawn", categories=[category], tags=[tag])

    # The plugin sends the webhook when the save's request ends, after its response.
    deadline = time.monotonic() + 30
    while not recorder and time.monotonic() < deadline:
        time.sleep(0.05)
    (payload,) = recorder
    data = payload["data"]
    assert payload["type"] == "post.published"
    assert data["post_id"] == post_id
    assert data["site_name"] == "Featured Image Bridge demo"
    assert data["categories"] == ["Sea & Boats"]
    assert data["tags"] == ["harbour"]
    assert data["replace"] is False
    assert data["options"] == {
        "prompt_template": "Title: {title}\n\nDescription: {excerpt}\n",
        "style": "",
        "width": 1200,
        "height": 630,
        "format": "jpeg",
        "quality": 85,
        "alt_template": "{title}",
        "title_template": "{title}",
        "caption_template": "",
        "replaced_image": "keep",
        "fallback_title_card": False,
        "daily_cap": 0,
    }
    assert editor.wait_for(post_id, states=("queued",), job_id="rec-1")


def test_regenerate_sends_post_regenerate_with_replace(
    site: LocalWordPress, recorder: list[dict[str, Any]], editor: EditorSession
) -> None:
    post_id = editor.create_post("Lighthouse keepers", status="draft")
    answer = editor.http.post("", params={"rest_route": f"/fib/v1/posts/{post_id}/regenerate"})
    assert answer.status_code == 202
    assert answer.json()["status"] == "queued"
    assert answer.json()["job_id"] == "rec-1"

    (payload,) = recorder
    assert payload["type"] == "post.regenerate"
    assert payload["data"]["replace"] is True
    assert payload["data"]["post_id"] == post_id
