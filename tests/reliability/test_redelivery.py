"""The plugin's redelivery queue, driven inside the real WordPress."""

from __future__ import annotations

import json

import pytest

from devenv.posts import EditorSession
from devenv.wordpress import LocalWordPress

pytestmark = pytest.mark.wordpress

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
