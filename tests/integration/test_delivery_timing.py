"""When the plugin sends its webhook: after the save's response, never inside it.

A triggering save records the delivery and marks the post queued; the webhook goes out when
the request ends. A bridge that holds its answer therefore does not hold the editor's save,
and a delivery the request never got to send is still there for WP-Cron.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devenv.posts import EditorSession
from devenv.wordpress import LocalWordPress

pytestmark = pytest.mark.wordpress

HOLD_LIMIT = 60.0  # seconds a held answer waits at most, so a plugin that waits fails, not hangs


@dataclass
class HeldBridge:
    """A bridge stand-in that accepts every webhook with a job id, but only once ``release``
    is set; it keeps the webhook ids and post ids it received."""

    url: str = ""
    release: threading.Event = field(default_factory=threading.Event)
    received: threading.Event = field(default_factory=threading.Event)
    webhook_ids: list[str] = field(default_factory=list)
    post_ids: list[int] = field(default_factory=list)


@pytest.fixture
def held_bridge(site: LocalWordPress) -> Iterator[HeldBridge]:
    bridge = HeldBridge()
    bridge.release.set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            bridge.webhook_ids.append(str(self.headers.get("webhook-id")))
            bridge.post_ids.append(int(body["data"]["post_id"]))
            bridge.received.set()
            bridge.release.wait(HOLD_LIMIT)
            answer = json.dumps({"job_id": f"held-{len(bridge.post_ids)}", "status": "queued"})
            self.send_response(202)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer.encode())

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    bridge.url = f"http://127.0.0.1:{server.server_address[1]}"
    site.update_plugin_settings(enabled=True, bridge_url=bridge.url)
    yield bridge
    bridge.release.set()
    site.update_plugin_settings(enabled=False)
    server.shutdown()
    server.server_close()
    site.reset()  # drops the redeliveries these tests leave scheduled


def _meta(editor: EditorSession, post_id: int) -> dict[str, object]:
    data = editor.call("GET", f"/wp/v2/posts/{post_id}", params={"context": "edit"})
    meta: dict[str, object] = data["meta"]
    return meta


def test_the_save_returns_queued_before_the_bridge_answers(
    held_bridge: HeldBridge, editor: EditorSession
) -> None:
    held_bridge.release.clear()
    post_id = editor.create_post("Published while the bridge thinks")
    # A plugin that waited inside the save would have given up on the held answer by now
    # (its timeout is a few seconds) and said it is waiting for the bridge.
    meta = _meta(editor, post_id)
    assert (meta["_fib_status"], meta["_fib_message"], meta["_fib_job_id"]) == ("queued", "", "")
    assert held_bridge.received.wait(HOLD_LIMIT), "the webhook was never sent"
    assert held_bridge.post_ids == [post_id]

    held_bridge.release.set()
    view = editor.wait_for(post_id, states=("queued",), job_id="held-1")
    assert view.meta["_fib_job_id"] == "held-1"


def test_the_webhook_goes_out_under_the_recorded_id_and_the_record_is_cleared(
    site: LocalWordPress, held_bridge: HeldBridge, editor: EditorSession
) -> None:
    post_id = editor.create_post("Sent when the request ends")
    editor.wait_for(post_id, states=("queued",), job_id="held-1")
    left = site.php(
        "echo wp_json_encode( array(\n"
        f"\t'delivery'  => get_post_meta( {post_id}, '_fib_delivery', true ),\n"
        f"\t'scheduled' => (bool) wp_next_scheduled( 'fib_redeliver', array( {post_id} ) ),\n"
        ") );\n"
    )
    assert json.loads(left) == {"delivery": "", "scheduled": False}
    assert held_bridge.webhook_ids[0].startswith("msg_")


def test_a_delivery_the_request_never_sent_is_sent_by_wp_cron(
    site: LocalWordPress, held_bridge: HeldBridge
) -> None:
    # The request that publishes dies before its shutdown: the shutdown action never runs.
    # (Deliveries come due at once here instead of a minute later.)
    due_now = "add_filter( 'fib_redelivery_delay', '__return_zero' );\n"
    recorded = json.loads(
        site.php(
            due_now + "remove_action( 'shutdown',"
            " 'FeaturedImageBridge\\\\send_deliveries_at_shutdown', 0 );\n"
            "$post_id = wp_insert_post( array( 'post_title' => 'Its request was cut short',"
            " 'post_status' => 'publish', 'post_author' => 1 ) );\n"
            "echo wp_json_encode( array(\n"
            "\t'post_id'  => $post_id,\n"
            "\t'delivery' => get_post_meta( $post_id, '_fib_delivery', true ),\n"
            "\t'status'   => get_post_meta( $post_id, '_fib_status', true ),\n"
            "\t'sweep'    => (bool) wp_next_scheduled( 'fib_deliver_due' ),\n"
            ") );\n"
        )
    )
    post_id = int(recorded["post_id"])
    assert held_bridge.post_ids == []
    assert recorded["status"] == "queued" and recorded["sweep"]
    assert recorded["delivery"]["attempts"] == 0

    # WP-Cron's sweep comes due (WP-Cron unschedules an event, then runs it): it sends the
    # recorded webhook, under the recorded id, and has nothing left to come back for.
    site.php(
        due_now
        + "wp_unschedule_event( wp_next_scheduled( 'fib_deliver_due' ), 'fib_deliver_due' );\n"
        "do_action( 'fib_deliver_due' );\n"
    )
    assert held_bridge.post_ids == [post_id]
    assert held_bridge.webhook_ids == [recorded["delivery"]["id"]]
    after = json.loads(
        site.php(
            "echo wp_json_encode( array(\n"
            f"\t'delivery' => get_post_meta( {post_id}, '_fib_delivery', true ),\n"
            f"\t'job_id'   => get_post_meta( {post_id}, '_fib_job_id', true ),\n"
            "\t'sweep'    => (bool) wp_next_scheduled( 'fib_deliver_due' ),\n"
            ") );\n"
        )
    )
    assert after == {"delivery": "", "job_id": "held-1", "sweep": False}
