"""When to poll a running Segmind request.

A fixed interval spends most polls where no request finishes and notices a finished one half
an interval late on average. :class:`LearnedSchedule` instead waits, without polling, until
the fastest runs usually finish, polls densely through the run times it has seen, and falls
back to the sparse interval in the tail. A :class:`PollBudget` shared by all requests caps
the dense polls per minute, so many requests in flight cannot multiply the poll rate.

The schedule learns the run-time distribution from the requests it saw finish (Segmind's
page suggests 20–60 s; the prior is a lognormal of median 35 s and σ 0.35 until enough runs
are seen). It also learns how long a request runs once it has left ``QUEUED``: where waiting
in Segmind's queue makes run times vary more than the work itself, the moment a poll first
sees a request running narrows its likely end to a few seconds, and the dense polls go there.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from statistics import NormalDist
from typing import Protocol

Started = tuple[float, float]
"""A request left ``QUEUED`` after the first and by the second of these times (seconds after
its submission): the last poll that saw it queued, and the first that saw it running."""


class PollSchedule(Protocol):
    """Decides the wait before each poll; told when a request was seen finished."""

    def next_delay(self, elapsed: float, started: Started | None = None) -> float:
        """Seconds to wait before the next poll, ``elapsed`` seconds after submission;
        ``started`` once a poll saw the request running."""
        ...

    def finished(
        self, after: float, by: float, started: Started | None = None, polls: int = 0
    ) -> None:
        """A request finished after ``after`` and by ``by`` seconds from its submission,
        after ``polls`` polls."""
        ...


class FixedSchedule:
    """A poll every ``interval`` seconds."""

    def __init__(self, interval: float) -> None:
        self.interval = interval

    def next_delay(self, elapsed: float, started: Started | None = None) -> float:
        return self.interval

    def finished(
        self, after: float, by: float, started: Started | None = None, polls: int = 0
    ) -> None:
        pass


class RunTimeModel:
    """Run times of recent requests: quantiles from the last ``window`` seen, or from a
    lognormal prior until ``min_samples`` are seen. Safe to share between threads."""

    def __init__(
        self,
        *,
        prior_median: float = 35.0,
        prior_sigma: float = 0.35,
        window: int = 200,
        min_samples: int = 20,
    ) -> None:
        if prior_median <= 0 or prior_sigma < 0 or window < 1 or min_samples < 1:
            raise ValueError("RunTimeModel needs a positive median, window and min_samples")
        self.prior_median = prior_median
        self.prior_sigma = prior_sigma
        self.min_samples = min(min_samples, window)
        self._samples: deque[float] = deque(maxlen=window)
        self._lock = threading.Lock()

    def observe(self, run_time: float) -> None:
        if math.isfinite(run_time) and run_time >= 0:
            with self._lock:
                self._samples.append(run_time)

    @property
    def samples(self) -> int:
        with self._lock:
            return len(self._samples)

    @property
    def learned(self) -> bool:
        """Whether the quantiles come from runs seen rather than from the prior."""
        return self.samples >= self.min_samples

    def cdf(self, run_time: float) -> float:
        """The fraction of requests that finish within ``run_time``."""
        with self._lock:
            ordered = sorted(self._samples) if len(self._samples) >= self.min_samples else None
        if ordered is None:
            if run_time <= 0:
                return 0.0
            if self.prior_sigma == 0:
                return 1.0 if run_time >= self.prior_median else 0.0
            return NormalDist().cdf(math.log(run_time / self.prior_median) / self.prior_sigma)
        return bisect.bisect_right(ordered, run_time) / len(ordered)

    def observe_between(self, after: float, by: float) -> float:
        """Learns a run known only to have ended after ``after`` and by ``by`` seconds: as
        the median of the runs seen so far that end in that interval (the middle of the
        interval when none do). A request found finished at its first poll would otherwise
        teach half its first wait, and drag the schedule's start early."""
        low, high = self.cdf(after), self.cdf(by)
        point = (after + by) / 2.0
        if high > low:
            middle = min(max((low + high) / 2.0, 1e-6), 1 - 1e-6)
            point = min(max(self.quantile(middle), after), by)
        self.observe(point)
        return point

    def quantile(self, q: float) -> float:
        """The run time that a fraction ``q`` (0 < q < 1) of requests finish within."""
        with self._lock:
            ordered = sorted(self._samples) if len(self._samples) >= self.min_samples else None
        if ordered is None:
            return self.prior_median * math.exp(self.prior_sigma * NormalDist().inv_cdf(q))
        position = (len(ordered) - 1) * q
        low = math.floor(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class PollBudget:
    """At most ``per_minute`` dense polls a minute across every request sharing it (a token
    bucket holding up to ``burst`` polls). Safe to share between threads."""

    def __init__(
        self,
        per_minute: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.rate = per_minute / 60.0
        self.capacity = burst if burst is not None else max(1.0, per_minute / 6.0)
        self._tokens = self.capacity
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Spends one poll if the budget has one left."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens < 1.0:
                return False
            self._tokens -= 1.0
            return True


MATCH_WEIGHT = 0.05
"""With ``match_polls``: the weight of the latest request in the running poll averages."""
MATCH_GAIN = 0.1
"""With ``match_polls``: how strongly one request moves the dense interval."""
MIN_DENSE_INTERVAL = 1.0
"""With ``match_polls``: the dense interval never goes below this (seconds)."""


class LearnedSchedule:
    """Wait until the ``start_quantile`` run time, poll every ``dense_interval`` seconds up
    to the ``end_quantile`` run time, then every ``sparse_interval`` seconds.

    Once runs have been seen leaving ``QUEUED`` (``processing``: the time from then to the
    end), a request seen running since between ``a`` and ``b`` seconds gets its dense polls
    only from ``a`` plus the short to ``b`` plus the long processing time (within the run-time
    window above), and a request still queued is polled every ``sparse_interval`` seconds.

    Polls per request grow with the width of the likely window over ``dense_interval``;
    a smaller interval buys a shorter delay with more polls (see ``bench/`` for the curve).
    With a ``budget``, a dense poll the budget cannot pay for waits ``sparse_interval``
    instead. With ``match_polls``, ``dense_interval`` is only where it starts: after each
    request it moves so that requests get as many polls as polling every ``sparse_interval``
    would have spent on the same runs, and no more.
    """

    def __init__(
        self,
        model: RunTimeModel | None = None,
        *,
        processing: RunTimeModel | None = None,
        dense_interval: float = 1.5,
        sparse_interval: float = 7.0,
        start_quantile: float = 0.1,
        end_quantile: float = 0.95,
        budget: PollBudget | None = None,
        match_polls: bool = False,
    ) -> None:
        if not 0 < start_quantile < end_quantile < 1:
            raise ValueError("need 0 < start_quantile < end_quantile < 1")
        if dense_interval <= 0 or sparse_interval <= 0:
            raise ValueError("poll intervals must be positive")
        self.model = model or RunTimeModel()
        self.processing = processing or RunTimeModel()
        self.match_polls = match_polls
        self._polls: tuple[float, float] | None = None  # recent polls: ours, the fixed one's
        self._lock = threading.Lock()
        self.dense_interval = dense_interval
        self.sparse_interval = sparse_interval
        self.start_quantile = start_quantile
        self.end_quantile = end_quantile
        self.budget = budget

    def next_delay(self, elapsed: float, started: Started | None = None) -> float:
        start, end = self.window(started)
        if elapsed < start:
            return start - elapsed
        if started is None and self.processing.learned:
            return self.sparse_interval  # still queued: the end is at least a run away
        if elapsed < end and (self.budget is None or self.budget.take()):
            return self.dense_interval
        return self.sparse_interval

    def window(self, started: Started | None = None) -> tuple[float, float]:
        """When a request is likely to finish, in seconds after its submission."""
        start = self.model.quantile(self.start_quantile)
        end = self.model.quantile(self.end_quantile)
        if started is not None and self.processing.learned:
            after, by = started
            start = max(start, after + self.processing.quantile(self.start_quantile))
            end = min(end, by + self.processing.quantile(self.end_quantile))
        return start, end

    def finished(
        self, after: float, by: float, started: Started | None = None, polls: int = 0
    ) -> None:
        """Learns the run time from the interval it is known to end in, and the processing
        time from the middle of the interval the request left ``QUEUED`` in, when that is no
        wider than ``sparse_interval`` (a request already running at its first poll says
        little about when it started)."""
        if not 0 <= after <= by:
            return
        run_time = self.model.observe_between(after, by)
        if started is not None and 0 <= started[0] <= started[1] <= by:
            if started[1] - started[0] <= self.sparse_interval:
                self.processing.observe(max((after + by) / 2.0 - sum(started) / 2.0, 0.0))
        if self.match_polls and polls > 0 and self.model.learned:
            self._match(polls, run_time)

    def _match(self, polls: int, run_time: float) -> None:
        """Moves the dense interval a little towards spending the fixed schedule's polls
        (averaged over recent requests) on requests like this one."""
        fixed = float(max(math.ceil(run_time / self.sparse_interval), 1))
        with self._lock:
            ours, theirs = self._polls or (float(polls), fixed)
            ours += MATCH_WEIGHT * (polls - ours)
            theirs += MATCH_WEIGHT * (fixed - theirs)
            self._polls = (ours, theirs)
            interval = self.dense_interval * (ours / theirs) ** MATCH_GAIN
            self.dense_interval = min(max(interval, MIN_DENSE_INTERVAL), self.sparse_interval)
