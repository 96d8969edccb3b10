"""One-line hooks the pipeline, the provider and the web routes call to record a figure.

The worker binds its metrics (the backend's :class:`~bridge.events.Metrics`: SQLite tables or
Redis) around each task (``bridge.task_context``), so a hook deep in a provider needs no store
passed down: it records into the bound metrics, for the site bound in ``bridge.logcontext``.
With nothing bound (a unit test of the pipeline alone) a hook does nothing. The web routes
pass theirs (``bridge.metrics_api``). Recording never breaks a job or a request: a store error
(SQLite or Redis) is logged and dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

from bridge import logcontext
from bridge.buffered_counters import buffered
from bridge.events import Metrics
from bridge.storage import STORE_ERRORS

log = logging.getLogger(__name__)

PROVIDER_RUN_BOUNDS = (0.5, 1, 2, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 60, 90, 120, 300, 600)
DETECTION_BOUNDS = (0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 7, 10, 15, 30)

RETRIES = "retries"
REJECTED = "webhooks_rejected"
DUPLICATES = "webhooks_duplicate"
CREDITS = "provider_remaining_credits"
PROVIDER_RUN = "provider_run_seconds"
DETECTION_DELAY = "provider_detection_delay_seconds"

_bound: ContextVar[Metrics | None] = ContextVar("bridge_metrics_store", default=None)


@contextmanager
def recording_into(metrics: Metrics) -> Iterator[Metrics]:
    """Hooks called inside the block record into ``metrics``."""
    token = enter(metrics)
    try:
        yield metrics
    finally:
        leave(token)


def enter(metrics: Metrics) -> Token[Metrics | None]:
    """Binds ``metrics``; :func:`leave` with the token restores the ones before."""
    return _bound.set(metrics)


def leave(token: Token[Metrics | None]) -> None:
    _bound.reset(token)


def _site() -> str:
    return logcontext.current().site or ""


def _record(action: str, write: Callable[[Metrics], None], into: Metrics | None = None) -> None:
    """Runs ``write`` on ``into`` (default: the bound metrics), if any; a store error is
    logged, not raised."""
    store = into if into is not None else _bound.get()
    if store is None:
        return
    try:
        write(store)
    except STORE_ERRORS as exc:
        log.warning("metrics: could not record %s (%s)", action, exc)


def retry(cause: str) -> None:
    """A job will be run again after a temporary fault of kind ``cause``."""
    labels = {"site": _site(), "cause": cause}
    _record("a retry", lambda store: store.increment(RETRIES, labels))


def provider_run(provider: str, seconds: float) -> None:
    """A provider produced an image (or failed) after ``seconds`` from submission."""
    labels = {"site": _site(), "provider": provider}
    _record(
        "a provider run",
        lambda store: store.observe(PROVIDER_RUN, labels, seconds, PROVIDER_RUN_BOUNDS),
    )


def detection_delay(seconds: float) -> None:
    """A finished provider run was seen at most ``seconds`` after it finished: the time
    between the last poll that found it running and the poll that found it done."""
    labels = {"site": _site()}
    _record(
        "a detection delay",
        lambda store: store.observe(DETECTION_DELAY, labels, seconds, DETECTION_BOUNDS),
    )


def credits(provider: str, remaining: int | None) -> None:
    """The provider's last answer said this many credits remain (``None``: it did not say)."""
    if remaining is None:
        return
    value = float(remaining)
    _record(
        "the remaining credits",
        lambda store: store.set_gauge(CREDITS, {"provider": provider}, value),
    )


def rejected(metrics: Metrics, endpoint: str, reason: str) -> None:
    """The web side refused a request to ``endpoint`` (``reason``: the ``error`` code).

    Counted in memory and written within ``bridge.buffered_counters.FLUSH_SECONDS``: a flood
    of refused requests costs no store write each."""
    labels = {"endpoint": endpoint, "reason": reason}
    _record("a refused request", lambda store: buffered(store).increment(REJECTED, labels), metrics)


def duplicate(metrics: Metrics, site: str) -> None:
    """A webhook named a job that exists (a redelivery, or a post with a job under way);
    counted in memory like :func:`rejected`."""
    labels = {"site": site}
    _record(
        "a duplicate webhook", lambda store: buffered(store).increment(DUPLICATES, labels), metrics
    )
