"""Which site, post and job the current code works for, for logs and metrics.

A ``contextvars.ContextVar`` holds the ids: the worker binds them around each task (see
``bridge.task_context``), the web side around each request. Every log record gets them as
attributes (:class:`ContextFilter`), and metrics recorded without an explicit site take it from
here. Nothing parses log messages for ids.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class LogContext:
    """The ids known so far; ``None`` where not known."""

    site: str | None = None
    post_id: int | None = None
    job_id: str | None = None


_EMPTY = LogContext()
_current: ContextVar[LogContext] = ContextVar("bridge_log_context", default=_EMPTY)


def current() -> LogContext:
    return _current.get()


def bind(*, site: str | None = None, post_id: int | None = None, job_id: str | None = None) -> None:
    """Adds the given ids to the current context (until :func:`clear` or the scope ends)."""
    known = _current.get()
    _current.set(
        replace(
            known,
            site=site if site is not None else known.site,
            post_id=post_id if post_id is not None else known.post_id,
            job_id=job_id if job_id is not None else known.job_id,
        )
    )


def clear() -> None:
    """Forgets every id (a new request or task starts)."""
    _current.set(_EMPTY)


def enter(
    *, site: str | None = None, post_id: int | None = None, job_id: str | None = None
) -> Token[LogContext]:
    """Replaces the context with these ids; :func:`leave` with the token restores the old."""
    return _current.set(LogContext(site=site, post_id=post_id, job_id=job_id))


def leave(token: Token[LogContext]) -> None:
    _current.reset(token)


@contextmanager
def scope(
    *, site: str | None = None, post_id: int | None = None, job_id: str | None = None
) -> Iterator[LogContext]:
    """Binds the ids for the block, then restores what was there before."""
    token = enter(site=site, post_id=post_id, job_id=job_id)
    try:
        yield _current.get()
    finally:
        leave(token)


class ContextFilter(logging.Filter):
    """Puts ``site``, ``post_id`` and ``job_id`` on every record that passes the handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        known = _current.get()
        for name in ("site", "post_id", "job_id"):
            if not hasattr(record, name):
                setattr(record, name, getattr(known, name))
        return True
