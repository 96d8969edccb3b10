"""create_wordpress picks the transport named by WP_TRANSPORT, without a request."""

from __future__ import annotations

import pytest

from bridge.config import Settings
from bridge.wordpress import WordPressClient, WordPressError, XmlRpcSite, create_wordpress

BASE = {
    "WP_URL": "http://127.0.0.1:9/blog",
    "WP_USER": "bridge",
    "WP_APP_PASSWORD": "abcd efgh ijkl mnop qrst uvwx",
}


@pytest.mark.parametrize(("transport", "kind"), [("rest", WordPressClient), ("xmlrpc", XmlRpcSite)])
def test_the_transport_follows_the_setting(secret: str, transport: str, kind: type) -> None:
    settings = Settings.from_env(
        {**BASE, "BRIDGE_WEBHOOK_SECRET": secret, "WP_TRANSPORT": transport}
    )
    site = create_wordpress(settings)
    try:
        assert isinstance(site, kind)
    finally:
        site.close()


def test_an_unreachable_xmlrpc_url_is_named_and_retryable(secret: str) -> None:
    settings = Settings.from_env(
        {**BASE, "BRIDGE_WEBHOOK_SECRET": secret, "WP_TRANSPORT": "xmlrpc"}
    )
    site = create_wordpress(settings)
    with pytest.raises(WordPressError) as caught:
        site.get_post("post", 1)
    site.close()
    assert "http://127.0.0.1:9/blog/xmlrpc.php" in caught.value.message
    assert caught.value.retryable
