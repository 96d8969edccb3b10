"""The plugin's redelivery queue, driven inside the real WordPress."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from devenv.posts import EditorSession
from devenv.wordpress import LocalWordPress

pytestmark = pytest.mark.wordpress


@pytest.fixture(autouse=True)
def _forget_deliveries(site: LocalWordPress) -> Iterator[None]:
    """These tests leave redeliveries scheduled; later tests must not see them come due."""
    yield
    site.reset()


REASON = "Could not reach the bridge at http://127.0.0.1:9: Connection refused"


def _fail_deliveries(site: LocalWordPress, post_id: int, times: int) -> dict[str, object]:
    out = site.php(
        f"for ( $i = 0; $i < {times}; $i++ ) {{\n"
        f"\t\\FeaturedImageBridge\\defer_delivery( {post_id}, {json.dumps(REASON)} );\n"
        "}\n"
        "echo wp_json_encode( array(\n"
        f"\t'delivery'  => get_post_meta( {post_id}, '_fib_delivery', true ),\n"
        f"\t'status'    => get_post_meta( {post_id}, '_fib_status', true ),\n"
        f"\t'message'   => get_post_meta( {post_id}, '_fib_message', true ),\n"
        f"\t'scheduled' => (bool) wp_next_scheduled( 'fib_redeliver', array( {post_id} ) ),\n"
        ") );\n"
    )
    result: dict[str, object] = json.loads(out)
    return result


def test_redeliveries_keep_one_webhook_id_and_back_off(
    site: LocalWordPress, editor: EditorSession
) -> None:
    site.update_plugin_settings(enabled=False)
    post_id = editor.create_post("Its bridge is away")
    first = _fail_deliveries(site, post_id, 1)
    third = _fail_deliveries(site, post_id, 2)
    assert isinstance(first["delivery"], dict) and isinstance(third["delivery"], dict)
    assert third["delivery"]["id"] == first["delivery"]["id"]
    assert third["delivery"]["attempts"] == 3
    # 1 min, then 2, then 4: the third wait is four times the first.
    assert third["delivery"]["next"] - first["delivery"]["next"] >= 3 * 60
    assert third["status"] == "queued" and third["scheduled"]
    assert str(third["message"]).startswith("Waiting for the bridge. " + REASON)


def test_the_plugin_gives_up_after_its_last_try(
    site: LocalWordPress, editor: EditorSession
) -> None:
    site.update_plugin_settings(enabled=False)
    post_id = editor.create_post("Its bridge never came back")
    last = _fail_deliveries(site, post_id, 12)
    assert last["status"] == "queued" and last["scheduled"]
    given_up = _fail_deliveries(site, post_id, 1)
    assert given_up == {"delivery": "", "status": "failed", "message": REASON, "scheduled": False}


def test_a_bridge_answering_5xx_is_retried_but_a_refusal_is_final(
    site: LocalWordPress, editor: EditorSession
) -> None:
    site.update_plugin_settings(enabled=False)
    behind_proxy = editor.create_post("Its bridge sits behind a proxy that answers 502")
    refused = editor.create_post("Its bridge refuses the request")
    out = site.php(
        "$answer = static fn( $code ) => array(\n"
        "\t'response' => array( 'code' => $code, 'message' => get_status_header_desc( $code ) ),\n"
        "\t'body'     => '',\n"
        ");\n"
        f"\\FeaturedImageBridge\\handle_response( {behind_proxy}, $answer( 502 ), 'http://b' );\n"
        f"\\FeaturedImageBridge\\handle_response( {refused}, $answer( 422 ), 'http://b' );\n"
        "echo wp_json_encode( array(\n"
        f"\tget_post_meta( {behind_proxy}, '_fib_status', true ),\n"
        f"\t(bool) get_post_meta( {behind_proxy}, '_fib_delivery', true ),\n"
        f"\tget_post_meta( {refused}, '_fib_status', true ),\n"
        f"\t(bool) get_post_meta( {refused}, '_fib_delivery', true ),\n"
        ") );\n"
    )
    assert json.loads(out) == ["queued", True, "failed", False]


class _BadGateway(BaseHTTPRequestHandler):
    """A proxy whose bridge is down: every request gets 502; the webhook ids are kept."""

    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.seen.append(str(self.headers.get("webhook-id")))
        self.send_response(502)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def bad_gateway() -> Iterator[tuple[str, list[str]]]:
    _BadGateway.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BadGateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _BadGateway.seen
    server.shutdown()
    server.server_close()


def test_cron_redelivers_under_one_webhook_id_while_the_bridge_answers_502(
    site: LocalWordPress, editor: EditorSession, bad_gateway: tuple[str, list[str]]
) -> None:
    url, seen = bad_gateway
    site.update_plugin_settings(enabled=True, bridge_url=url)
    try:
        post_id = editor.create_post("Published while the proxy answers 502")
        site.php(f"\\FeaturedImageBridge\\redeliver( {post_id} );")
        site.php(f"\\FeaturedImageBridge\\redeliver( {post_id} );")
    finally:
        site.update_plugin_settings(enabled=False)
    view = editor.post(post_id)
    assert view.generation == "queued" and "HTTP 502" in view.message, view.message
    assert len(seen) == 3
    assert seen[1] == seen[2], "redeliveries must carry the same webhook-id"
