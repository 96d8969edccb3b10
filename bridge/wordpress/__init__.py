"""The WordPress site the bridge writes to, over REST (default) or XML-RPC."""

from __future__ import annotations

from bridge.config import Settings
from bridge.wordpress.base import (
    BRIDGE_HEADER,
    MissingPost,
    PostState,
    WordPressError,
    WordPressSite,
)
from bridge.wordpress.rest import WordPressClient
from bridge.wordpress.xmlrpc import XmlRpcSite

__all__ = [
    "BRIDGE_HEADER",
    "MissingPost",
    "PostState",
    "WordPressClient",
    "WordPressError",
    "WordPressSite",
    "XmlRpcSite",
    "create_wordpress",
]


def create_wordpress(settings: Settings) -> WordPressSite:
    """The client for the site in ``settings`` (``WP_TRANSPORT``). Makes no request until
    first used."""
    if settings.wp_transport == "xmlrpc":
        return XmlRpcSite(settings.wp_xmlrpc_url, settings.wp_user, settings.wp_app_password)
    return WordPressClient(settings.wp_url, settings.wp_user, settings.wp_app_password)
