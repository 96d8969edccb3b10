"""Segmind's response headers: how long a 429 asks us to wait, and the credits left."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_retry_after(
    retry_after: str | None,
    reset_at: str | None,
    *,
    now: datetime | None = None,
) -> float | None:
    """Seconds to wait, from ``Retry-After`` or else ``x-rate-limit-reset-at-utc``.

    ``Retry-After`` may be delta-seconds or an HTTP-date. The reset header may be
    ISO 8601 (``Z``, an offset, or naive meaning UTC), an HTTP-date, or a Unix epoch in
    seconds or milliseconds. Past times give 0. Unparsable values give None.
    """
    current = now or datetime.now(UTC)
    for raw in (retry_after, reset_at):
        if raw is None or not raw.strip():
            continue
        seconds = _parse_wait(raw.strip(), current, is_reset=raw is reset_at)
        if seconds is not None:
            return seconds
    return None


def _parse_wait(value: str, now: datetime, *, is_reset: bool) -> float | None:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if math.isfinite(number):
        if is_reset and number >= 1e12:  # epoch milliseconds
            return max(0.0, number / 1000.0 - now.timestamp())
        if is_reset and number >= 1e9:  # epoch seconds
            return max(0.0, number - now.timestamp())
        return max(0.0, number)  # delta-seconds
    when = _parse_datetime(value)
    if when is None:
        return None
    return max(0.0, (when - now).total_seconds())


def _parse_datetime(value: str) -> datetime | None:
    text = value.strip()
    iso = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when


def parse_credits(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return int(number)
