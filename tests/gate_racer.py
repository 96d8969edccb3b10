"""One process racing others through the gate (``python -m tests.gate_racer``).

Each of its threads takes job ids from the given list in turn and submits them through the
gate to an imaginary provider: it notes when the request "arrives" (after the gate let it
through, before the gate hears it was accepted) and when the provider is done with it
(before the gate hears so). Prints one JSON line per job: ``[arrived, done]``.

The gate is the SQLite one on ``--db PATH`` or the Redis one on ``--redis URL`` (``--prefix``).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bridge.gate import Gate, Limits, RateLimit, SqliteGate, Ticket
from bridge.redis_gate import RedisGate

KEY = "segmind:racer"


def race(
    make_gate: Callable[[], Gate], job_ids: list[str], limits: Limits, threads: int, run_s: float
) -> list[str]:
    """Runs the jobs through the gate with ``threads`` threads; returns the JSON lines."""
    gate = make_gate()
    todo = list(job_ids)
    lines: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if not todo:
                    return
                job_id = todo.pop()
            while not (admission := gate.admit(Ticket(job_id, KEY, "site"), limits)).admitted:
                time.sleep(min(admission.delay, 0.05))
            arrived = time.time()
            gate.accepted(job_id)
            time.sleep(random.uniform(0.5, 1.5) * run_s)
            done = time.time()
            gate.released(job_id, submitted=True)
            with lock:
                lines.append(json.dumps([arrived, done]))

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return lines


def main() -> int:
    parser = argparse.ArgumentParser()
    backend = parser.add_mutually_exclusive_group(required=True)
    backend.add_argument("--db", type=Path, help="the job database of a SqliteGate")
    backend.add_argument("--redis", help="the redis:// URL of a RedisGate")
    parser.add_argument("--prefix", default="fib:", help="the RedisGate's key prefix")
    parser.add_argument("--jobs", required=True, help="comma-separated job ids")
    parser.add_argument("--concurrency", type=int, default=0)
    parser.add_argument("--rate", default="")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--run-s", type=float, default=0.05)
    args = parser.parse_args()
    limits = Limits(
        max_concurrency=args.concurrency, rate=RateLimit.parse(args.rate) if args.rate else None
    )
    db: Path | None = args.db
    url: str = args.redis

    def make_gate() -> Gate:
        return SqliteGate(db) if db is not None else RedisGate(url, prefix=args.prefix)

    lines = race(make_gate, args.jobs.split(","), limits, args.threads, args.run_s)
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
