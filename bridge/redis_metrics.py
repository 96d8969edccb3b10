"""The figures behind ``GET /metrics`` kept in Redis, for processes on several machines.

The same interface as :class:`bridge.events.MetricsStore` (:class:`bridge.events.Metrics`),
and the same small footprint: one field per metric and label set. Keys, below the prefix:

``metrics:counters``          HASH "NAME LABELS" → total (``HINCRBYFLOAT``)
``metrics:gauges``            HASH "NAME LABELS" → last value
``metrics:gauge_times``       HASH "NAME LABELS" → when it was set (Unix time)
``metrics:histograms``        SET of "NAME LABELS"
``metrics:histogram:NAME LABELS``  HASH bounds (JSON), b0 … bN-1 (cumulative), sum, count
``metrics:heartbeats``        ZSET worker → its last heartbeat, by the Redis server's clock

``LABELS`` is the label set's canonical JSON; the prefix is ``fib:``, as the job record's.
Every write is one command, one transaction or one script, so concurrent writers never lose an
increment or an observation. Heartbeats are timed and aged by the server's clock, so workers
on machines whose clocks drift apart still count alive (or gone) in every process's
``/metrics`` and ``bridge status``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence

import redis

from bridge.events import (
    HEARTBEAT_KEEP_SECONDS,
    Counter,
    Gauge,
    Heartbeat,
    Histogram,
    Labels,
    Metrics,
)

DEFAULT_PREFIX = "fib:"

_OBSERVE = """
-- KEYS: the histogram, the set of histograms. ARGV: field, bounds, first bucket, value.
local histogram, first = KEYS[1], tonumber(ARGV[3])
if redis.call('HGET', histogram, 'bounds') ~= ARGV[2] then
  redis.call('DEL', histogram)  -- recorded with other bounds before: start again
  redis.call('HSET', histogram, 'bounds', ARGV[2], 'sum', '0', 'count', '0')
end
local size = #cjson.decode(ARGV[2])
for i = first, size - 1 do redis.call('HINCRBY', histogram, 'b' .. i, 1) end
redis.call('HINCRBYFLOAT', histogram, 'sum', ARGV[4])
redis.call('HINCRBY', histogram, 'count', 1)
redis.call('SADD', KEYS[2], ARGV[1])
return 0
"""

_HEARTBEAT = """
-- KEYS: the heartbeats. ARGV: the worker, how long a silent worker is kept (seconds).
local now = redis.call('TIME')
local at = tonumber(now[1]) + tonumber(now[2]) / 1000000
local oldest = at - tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], string.format('%.6f', at), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. string.format('%.6f', oldest))
return 0
"""


class RedisMetrics:
    """Counters, gauges and histograms in Redis (see the module docstring)."""

    def __init__(self, client: redis.Redis | str, *, prefix: str = DEFAULT_PREFIX) -> None:
        self.client = redis.Redis.from_url(client) if isinstance(client, str) else client
        self._counters = f"{prefix}metrics:counters"
        self._gauges = f"{prefix}metrics:gauges"
        self._gauge_times = f"{prefix}metrics:gauge_times"
        self._histograms = f"{prefix}metrics:histograms"
        self._histogram = f"{prefix}metrics:histogram:"
        self._heartbeats = f"{prefix}metrics:heartbeats"
        self._observe = self.client.register_script(_OBSERVE)
        self._heartbeat = self.client.register_script(_HEARTBEAT)

    def increment(self, name: str, labels: Labels, amount: float = 1.0) -> None:
        self.client.hincrbyfloat(self._counters, _field(name, labels), amount)

    def set_gauge(self, name: str, labels: Labels, value: float) -> None:
        field = _field(name, labels)
        with self.client.pipeline(transaction=True) as both:
            both.hset(self._gauges, field, repr(float(value)))
            both.hset(self._gauge_times, field, repr(time.time()))
            both.execute()

    def observe(self, name: str, labels: Labels, value: float, bounds: Sequence[float]) -> None:
        field = _field(name, labels)
        first = next((i for i, bound in enumerate(bounds) if value <= bound), len(bounds))
        canonical = json.dumps([float(bound) for bound in bounds])
        self._observe(
            keys=[self._histogram + field, self._histograms],
            args=[field, canonical, first, repr(float(value))],
        )

    def heartbeat(self, worker: str) -> None:
        self._heartbeat(keys=[self._heartbeats], args=[worker, repr(HEARTBEAT_KEEP_SECONDS)])

    def heartbeats(self) -> list[Heartbeat]:
        with self.client.pipeline(transaction=True) as both:
            both.time()
            both.zrange(self._heartbeats, 0, -1, withscores=True)
            (seconds, micros), beats = both.execute()
        now = seconds + micros / 1e6
        return [Heartbeat(_text(worker), at, now - at) for worker, at in sorted(beats)]

    def counters(self) -> list[Counter]:
        totals = self.client.hgetall(self._counters)
        found = [(*_name_labels(field), float(value)) for field, value in totals.items()]
        return [Counter(name, json.loads(labels), value) for name, labels, value in sorted(found)]

    def gauges(self) -> list[Gauge]:
        with self.client.pipeline(transaction=True) as both:
            both.hgetall(self._gauges)
            both.hgetall(self._gauge_times)
            values, times = both.execute()
        found = []
        for field, value in values.items():
            name, labels = _name_labels(field)
            found.append((name, labels, float(value), float(times.get(field, 0.0))))
        return [Gauge(name, json.loads(labels), v, at) for name, labels, v, at in sorted(found)]

    def histograms(self) -> Iterator[Histogram]:
        fields = sorted(_text(field) for field in self.client.smembers(self._histograms))
        with self.client.pipeline(transaction=False) as reads:
            for field in fields:
                reads.hgetall(self._histogram + field)
            contents = reads.execute()
        for field, content in zip(fields, contents, strict=True):
            values = {_text(k): _text(v) for k, v in content.items()}
            if "bounds" not in values:
                continue
            bounds = tuple(float(bound) for bound in json.loads(values["bounds"]))
            name, labels = _name_labels(field)
            yield Histogram(
                name,
                json.loads(labels),
                bounds,
                tuple(int(values.get(f"b{i}", 0)) for i in range(len(bounds))),
                float(values["sum"]),
                int(values["count"]),
            )


def redis_metrics(client: redis.Redis, *, prefix: str = DEFAULT_PREFIX) -> Metrics:
    """The metrics every process sharing ``client``'s Redis writes and ``/metrics`` reads."""
    return RedisMetrics(client, prefix=prefix)


def _field(name: str, labels: Labels) -> str:
    """A metric's field: its name and the canonical JSON of its labels."""
    return f"{name} " + json.dumps(dict(sorted(labels.items())), separators=(",", ":"))


def _name_labels(field: object) -> tuple[str, str]:
    name, _, labels = _text(field).partition(" ")
    return name, labels


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
