"""The objects the web routes share, kept in ``app.extensions["bridge"]``."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.config import Settings
from bridge.enqueuer import BackgroundEnqueuer
from bridge.events import Metrics
from bridge.storage import JobRecords
from bridge.tasks import JobQueue
from bridge.webhooks import SignatureVerifier
from bridge.wordpress import WordPressSite


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: JobRecords
    queue: JobQueue
    enqueuer: BackgroundEnqueuer
    """Queues new webhook jobs off the request path (``queue.enqueue`` in the background)."""
    verifier: SignatureVerifier
    wordpress: WordPressSite
    metrics: Metrics
    """Where the routes count refusals and duplicates and ``/metrics`` reads every figure."""
