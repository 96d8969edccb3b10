"""``python -m bench.gate [--jobs N]``: what one pass through the provider-key gate costs.

Each job goes through admit → accepted → released, as a worker's job does, on SqliteGate (the
job database) and on RedisGate (a private redis-server), from 1 thread and from 4. Prints
the passes per second and the median admit time; asserts nothing.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import redis

from bench.stats import median
from bridge.gate import Gate, Limits, RateLimit, SqliteGate, Ticket
from bridge.jobs import JobStore, NewJob
from bridge.redis_gate import redis_gate
from devenv.redis_server import LocalRedis

KEY = "segmind:bench"
LIMITS = Limits(max_concurrency=1000, rate=RateLimit(100_000, 1.0))


def _passes(gate: Gate, ids: list[str], threads: int) -> tuple[float, list[float]]:
    """Runs every job through the gate; returns the seconds taken and each admit's time."""
    todo = list(ids)
    admits: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if not todo:
                    return
                job_id = todo.pop()
            started = time.perf_counter()
            admitted = gate.admit(Ticket(job_id, KEY, "http://bench.example"), LIMITS).admitted
            took = time.perf_counter() - started
            if not admitted:
                raise RuntimeError("the gate held a job back: the limits are meant to be wide")
            gate.accepted(job_id)
            gate.released(job_id, submitted=True)
            with lock:
                admits.append(took)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - started, admits


def _new_jobs(store: JobStore, tag: str, count: int) -> list[str]:
    return [
        store.create(NewJob(f"{tag}-{i}", "http://bench.example", i, "post", "T", "", "t"))[0].id
        for i in range(count)
    ]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000, help="jobs per measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, LocalRedis(Path(tmp) / "redis") as server:
        store = JobStore(Path(tmp) / "jobs.sqlite3")
        client = redis.Redis.from_url(server.url)
        gates: dict[str, Callable[[], Gate]] = {
            "SqliteGate": lambda: SqliteGate(store.path),
            "RedisGate": lambda: redis_gate(client, store=store),
        }
        print(f"{'gate':<11} {'threads':>7} {'passes/s':>9} {'admit p50 (ms)':>15}")
        for name, make in gates.items():
            for threads in (1, 4):
                ids = _new_jobs(store, f"{name}-{threads}", args.jobs)
                seconds, admits = _passes(make(), ids, threads)
                print(
                    f"{name:<11} {threads:>7} {len(ids) / seconds:>9.0f} "
                    f"{median(admits) * 1000:>15.2f}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
