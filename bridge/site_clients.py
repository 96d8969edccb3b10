"""One WordPress client per site, made when the site is first used and then reused."""

from __future__ import annotations

import threading

from bridge.config import Settings
from bridge.sites import Site, site_key
from bridge.wordpress import WordPressSite, create_wordpress


class SiteClients:
    """The WordPress clients of the sites (REST or XML-RPC, as each site says).

    Safe to share between threads: a client is made once per site.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._clients: dict[str, WordPressSite] = {}

    def wordpress(self, site: Site) -> WordPressSite:
        key = site_key(site.url)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = create_wordpress(site.settings(self.settings))
                self._clients[key] = client
            return client

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()
