"""The objects the web routes share, kept in ``app.extensions["bridge"]``."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.config import Settings
from bridge.enqueuer import BackgroundEnqueuer
from bridge.events import Metrics
from bridge.site_clients import SiteClients
from bridge.site_routing import SiteRouter
from bridge.storage import JobRecords
from bridge.tasks import JobQueue


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: JobRecords
    queue: JobQueue
    enqueuer: BackgroundEnqueuer
    """Queues new webhook jobs off the request path (``queue.enqueue`` in the background)."""
    sites: SiteRouter
    """Finds each signed request's site and checks its signature with that site's secret."""
    clients: SiteClients
    """Each site's WordPress client (the connection test, backfill listings)."""
    metrics: Metrics
    """Where the routes count refusals and duplicates and ``/metrics`` reads every figure."""
