"""One process recording figures while others do (``python -m tests.metrics_writer``).

Adds 1 to the counter ``writes`` ``--count`` times, observes ``--count`` values of 0.5, 1.5,
2.5 … in the histogram ``sizes`` (bounds 1, 2, 5) and sets the gauge ``last`` each time. The
store is the SQLite one on ``--db PATH`` or the Redis one on ``--redis URL`` (``--prefix``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bridge.events import Metrics, MetricsStore
from bridge.redis_metrics import RedisMetrics

BOUNDS = (1.0, 2.0, 5.0)


def write(store: Metrics, count: int, writer: str) -> None:
    for i in range(count):
        store.increment("writes", {"kind": "test"})
        store.observe("sizes", {"kind": "test"}, 0.5 + i % 4, BOUNDS)
        store.set_gauge("last", {"writer": writer}, float(i))


def main() -> int:
    parser = argparse.ArgumentParser()
    backend = parser.add_mutually_exclusive_group(required=True)
    backend.add_argument("--db", type=Path, help="the job database of a MetricsStore")
    backend.add_argument("--redis", help="the redis:// URL of a RedisMetrics")
    parser.add_argument("--prefix", default="fib:")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--writer", default="w")
    args = parser.parse_args()
    store: Metrics = (
        MetricsStore(args.db)
        if args.db is not None
        else RedisMetrics(args.redis, prefix=args.prefix)
    )
    write(store, args.count, args.writer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
