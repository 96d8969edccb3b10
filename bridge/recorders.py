"""One-line hooks the pipeline, the provider and the web routes call to record a figure.

The worker binds its metrics store around each task (``bridge.task_context``), so a hook deep
in a provider needs no store passed down: it records into the bound store, for the site bound
in ``bridge.logcontext``. With nothing bound (a unit test of the pipeline alone) a hook does
nothing. Recording never breaks a job: a store error (SQLite or Redis) is logged and dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from pathlib import Path

from bridge import logcontext
from bridge.buffered_counters import buffered
from bridge.events import MetricsStore, metrics_store
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

_bound: ContextVar[MetricsStore | None] = ContextVar("bridge_metrics_store", default=None)


@contextmanager
def recording_into(path: Path) -> Iterator[MetricsStore]:
    """Hooks called inside the block record into the job database at ``path``."""
    token = enter(path)
    try:
        yield metrics_store(path)
    finally:
        leave(token)


def enter(path: Path) -> Token[MetricsStore | None]:
    """Binds the store of ``path``; :func:`leave` with the token restores the one before."""
    return _bound.set(metrics_store(path))


def leave(token: Token[MetricsStore | None]) -> None:
    _bound.reset(token)


def _site() -> str:
    return logcontext.current().site or ""


def _record(action: str, write: Callable[[MetricsStore], None]) -> None:
    """Runs ``write`` on the bound store, if any; a database error is logged, not raised."""
    store = _bound.get()
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


def rejected(path: Path, endpoint: str, reason: str) -> None:
    """The web side refused a request to ``endpoint`` (``reason``: the ``error`` code).

    Counted in memory and written within ``bridge.buffered_counters.FLUSH_SECONDS``: a flood
    of refused requests costs no store write each."""
    try:
        buffered(metrics_store(path)).increment(REJECTED, {"endpoint": endpoint, "reason": reason})
    except STORE_ERRORS as exc:
        log.warning("metrics: could not record a refused request (%s)", exc)


def duplicate(path: Path, site: str) -> None:
    """A webhook named a job that exists (a redelivery, or a post with a job under way);
    counted in memory like :func:`rejected`."""
    try:
        buffered(metrics_store(path)).increment(DUPLICATES, {"site": site})
    except STORE_ERRORS as exc:
        log.warning("metrics: could not record a duplicate webhook (%s)", exc)
