"""When to poll a running Segmind request.

A fixed interval spends most polls where no request finishes and notices a finished one half
an interval late on average. :class:`LearnedSchedule` instead waits, without polling, until
the fastest runs usually finish, polls densely through the run times it has seen, and falls
back to the sparse interval in the tail. It learns the run-time distribution from the
requests it saw finish (Segmind's page suggests 20–60 s; the prior is a lognormal of median
35 s and σ 0.35 until enough runs are seen).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from statistics import NormalDist
from typing import Protocol


class PollSchedule(Protocol):
    """Decides the wait before each poll; told when a request was seen finished."""

    def next_delay(self, elapsed: float) -> float:
        """Seconds to wait before the next poll, ``elapsed`` seconds after submission."""
        ...

    def finished(self, after: float, by: float) -> None:
        """A request finished after ``after`` and by ``by`` seconds from its submission."""
        ...


class FixedSchedule:
    """A poll every ``interval`` seconds."""

    def __init__(self, interval: float) -> None:
        self.interval = interval

    def next_delay(self, elapsed: float) -> float:
        return self.interval

    def finished(self, after: float, by: float) -> None:
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


class LearnedSchedule:
    """Wait until the ``start_quantile`` run time, poll every ``dense_interval`` seconds up
    to the ``end_quantile`` run time, then every ``sparse_interval`` seconds.

    Polls per request grow with the width of the likely window over ``dense_interval``;
    a smaller interval buys a shorter delay with more polls (see ``bench/`` for the curve).
    """

    def __init__(
        self,
        model: RunTimeModel | None = None,
        *,
        dense_interval: float = 1.5,
        sparse_interval: float = 7.0,
        start_quantile: float = 0.1,
        end_quantile: float = 0.95,
    ) -> None:
        if not 0 < start_quantile < end_quantile < 1:
            raise ValueError("need 0 < start_quantile < end_quantile < 1")
        if dense_interval <= 0 or sparse_interval <= 0:
            raise ValueError("poll intervals must be positive")
        self.model = model or RunTimeModel()
        self.dense_interval = dense_interval
        self.sparse_interval = sparse_interval
        self.start_quantile = start_quantile
        self.end_quantile = end_quantile

    def next_delay(self, elapsed: float) -> float:
        start = self.model.quantile(self.start_quantile)
        if elapsed < start:
            return start - elapsed
        if elapsed < self.model.quantile(self.end_quantile):
            return self.dense_interval
        return self.sparse_interval

    def finished(self, after: float, by: float) -> None:
        """Learns the run time as the middle of the interval it is known to lie in."""
        if 0 <= after <= by:
            self.model.observe((after + by) / 2.0)
