"""The saturation load test (issue 4): signed webhooks at saturation against ``bridge web`` as
production runs it, then a count of what was accepted, rejected (by reason) and lost.

    python -m bench.load --seconds 60          # or: make load

wrk holds ``--connections`` connections open on 127.0.0.1 and sends as fast as the bridge
answers. The requests come from a pool signed just before the run: new webhooks for posts of
their own, with one in a hundred carrying a wrong signature (refused with 401) and one in a
hundred redelivering an earlier webhook (answered 200, ``duplicate``). After the run the bridge
is stopped as systemd stops it (SIGTERM) and its files are read back:

- accepted: 202 answers; each names its job id.
- lost: an accepted job id with no job record, or whose job never reached the worker's queue.
  This must be 0: a 202 is only answered once the job is on disk.
- unanswered: requests wrk gave up on (socket errors, its 2 s timeout); the bridge may or may
  not have recorded them, as a client that times out cannot know either.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.intake import SECRET, SITE_URL
from bench.signing import Signer, payload
from bridge.config import Settings
from bridge.tasks import create_queue
from devenv.bridge_process import free_port

LUA = Path(__file__).resolve().parent / "load.lua"
POOL_LUA = LUA.with_name("signed_pool.lua")
WRK_THREADS = 2
POOL_PER_SECOND = 6000
"""Requests signed per second of the run: more than the bridge answers here, so no webhook id
is sent twice by accident (the report counts any that were)."""
BAD_SIGNATURE_EVERY = 100
REDELIVERY_EVERY = 100


@dataclass
class LoadReport:
    seconds: float
    connections: int
    processes: int
    threads: int
    requests: int = 0
    accepted: int = 0
    recorded: int = 0
    """Accepted job ids that have a job record."""
    queued: int = 0
    """Accepted job ids whose job is in the worker's queue."""
    left_to_sweep: int = 0
    """Accepted, recorded, not in the queue (the server died first): the sweep queues them."""
    killed_at: float | None = None
    rejected: Counter[str] = field(default_factory=Counter)
    """Non-202 answers by ``status error`` (``200 duplicate`` for a redelivery)."""
    unanswered: int = 0
    jobs_in_record: int = 0
    reused_ids: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0

    @property
    def lost(self) -> int:
        """Accepted with no job record, or recorded but neither queued nor left to the sweep."""
        return self.accepted - self.recorded + (self.recorded - self.queued - self.left_to_sweep)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def lines(self) -> list[str]:
        rows = [
            ("server", f"bridge web, {self.processes} processes × {self.threads} threads"),
            ("clients", f"wrk, {self.connections} connections, {self.seconds:.0f} s"),
            *(
                [("bridge web killed (SIGKILL, every process)", f"at {self.killed_at:g} s")]
                if self.killed_at is not None
                else []
            ),
            ("requests answered", f"{self.requests} ({self.rate:.0f}/s)"),
            (
                "latency p50 / p99 / max (ms)",
                f"{self.p50_ms:.1f} / {self.p99_ms:.1f} / {self.max_ms:.1f}",
            ),
            ("accepted (202)", str(self.accepted)),
            ("  with a job record", str(self.recorded)),
            ("  in the worker's queue", str(self.queued)),
            ("  not queued, left to the sweep", str(self.left_to_sweep)),
            ("lost", str(self.lost)),
        ]
        for reason, count in sorted(self.rejected.items()):
            rows.append((f"answered {reason}", str(count)))
        rows += [
            ("unanswered (socket errors, timeouts)", str(self.unanswered)),
            ("job records in all", str(self.jobs_in_record)),
        ]
        if self.killed_at is None:  # after a kill wrk counts every refused connection as sent
            rows.append(("webhook ids sent twice by wrk (pool exhausted)", str(self.reused_ids)))
        width = max(len(name) for name, _ in rows)
        return [f"  {name.ljust(width)}  {value}" for name, value in rows]


def write_pool(path: Path, size: int) -> None:
    """``size`` signed requests for wrk: new webhooks, wrong signatures and redeliveries."""
    signer = Signer(SECRET)
    lines: list[str] = []
    for n in range(size):
        if n % REDELIVERY_EVERY == REDELIVERY_EVERY // 2 and n > REDELIVERY_EVERY:
            lines.append(lines[n - REDELIVERY_EVERY])
            continue
        body, headers = signer.signed(payload(SITE_URL, n + 1, f"Load {n}"))
        signature = headers["webhook-signature"]
        if n % BAD_SIGNATURE_EVERY == 0:
            signature = "v1," + "A" * 43 + "="
        lines.append(
            f"{headers['webhook-id']}\t{headers['webhook-timestamp']}\t{signature}\t"
            f"{body.decode()}\n"
        )
    path.write_text("".join(lines))


def run_load(
    seconds: int,
    connections: int = 100,
    workdir: Path | None = None,
    *,
    kill_at: float | None = None,
) -> LoadReport:
    """Runs the load test; ``workdir`` keeps the bridge's files and logs (default: a
    temporary directory, removed afterwards). With ``kill_at``, every process of ``bridge
    web`` is killed (SIGKILL) that many seconds into the run, and wrk goes on against the
    closed port."""
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="fib-load-") as tmp:
            return run_load(seconds, connections, Path(tmp), kill_at=kill_at)
    port = free_port()
    env = {
        "BRIDGE_WEBHOOK_SECRET": SECRET,
        "WP_URL": SITE_URL,
        "WP_USER": "load",
        "WP_APP_PASSWORD": "load load",
        "BRIDGE_DATA_DIR": str(workdir / "bridge"),
        "BRIDGE_PORT": str(port),
        "BRIDGE_LOG_LEVEL": "WARNING",
    }
    settings = Settings.from_env({**os.environ, **env})
    report = LoadReport(
        seconds=seconds,
        connections=connections,
        processes=settings.web_processes,
        threads=settings.web_threads,
        killed_at=kill_at,
    )
    pool, answers = workdir / "pool.tsv", workdir / "answers.tsv"
    write_pool(pool, seconds * POOL_PER_SECOND)
    web = _start_web(env, port, workdir / "web.log")
    killer = threading.Timer(kill_at or 0, os.killpg, (web.pid, signal.SIGKILL))
    try:
        if kill_at is not None:
            killer.start()
        _wrk(f"http://127.0.0.1:{port}/webhook", pool, answers, seconds, connections)
    finally:
        killer.cancel()
        if web.poll() is None and kill_at is None:
            os.killpg(web.pid, signal.SIGTERM)  # as systemd stops it: answer, drain, exit
        elif web.poll() is None:
            os.killpg(web.pid, signal.SIGKILL)
        web.wait(timeout=60)
    accepted = _read_answers(answers, report)
    recorded = _recorded_job_ids(settings)
    queued = create_queue(settings).queued_job_ids()
    report.accepted = len(accepted)
    report.recorded = len(accepted & recorded)
    report.queued = len(accepted & queued)
    report.left_to_sweep = len(_sweepable(settings, (accepted & recorded) - queued))
    report.jobs_in_record = len(recorded)
    return report


def _start_web(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """``bridge web`` in a process group of its own, once it answers ``/healthz``."""
    with log.open("ab") as out:
        web = subprocess.Popen(
            [sys.executable, "-m", "bridge.cli", "web"],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while True:
        if web.poll() is not None:
            raise RuntimeError(f"bridge web exited: {log.read_text()[-2000:]}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return web
        except httpx.TransportError:
            if time.monotonic() > deadline:
                os.killpg(web.pid, signal.SIGKILL)
                raise RuntimeError("bridge web did not start") from None
            time.sleep(0.1)


def _sweepable(settings: Settings, job_ids: set[str]) -> set[str]:
    """Those of ``job_ids`` that the worker's sweep queues once their grace has passed:
    queued, no worker's lease (``bridge.leases.Leases.take_stalled``)."""
    if not job_ids:
        return set()
    db = sqlite3.connect(f"file:{settings.jobs_db}?mode=ro", uri=True, timeout=30)
    try:
        rows = db.execute(
            "SELECT id FROM jobs WHERE state = 'queued' AND lease_owner IS NULL "
            "AND lease_until IS NULL"
        )
        return job_ids & {str(row[0]) for row in rows}
    finally:
        db.close()


def _wrk(url: str, pool: Path, answers: Path, seconds: int, connections: int) -> None:
    command = ["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s", "-s", str(LUA)]
    env = {
        **os.environ,
        "WRK_POOL": str(pool),
        "WRK_THREADS": str(WRK_THREADS),
        "WRK_POOL_SCRIPT": str(POOL_LUA),
        "LOAD_ANSWERS": str(answers),
    }
    done = subprocess.run(
        [*command, url], env=env, capture_output=True, text=True, timeout=seconds + 120
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr.strip()}")


def _read_answers(path: Path, report: LoadReport) -> set[str]:
    accepted: set[str] = set()
    for line in path.read_text().splitlines():
        kind, *fields = line.split("\t")
        if kind == "accepted":
            accepted.add(fields[0])
        elif kind == "answer":
            report.rejected[f"{fields[0]} {fields[1]}"] += int(fields[2])
        elif kind == "summary":
            numbers = [int(value) for value in fields]
            report.requests = numbers[0]
            report.seconds = numbers[1] / 1e6
            report.unanswered = sum(numbers[2:6])
            report.p50_ms, report.p99_ms, report.max_ms = (n / 1000 for n in numbers[6:9])
            report.reused_ids = numbers[9]
    return accepted


def _recorded_job_ids(settings: Settings) -> set[str]:
    db = sqlite3.connect(f"file:{settings.jobs_db}?mode=ro", uri=True, timeout=30)
    try:
        return {str(row[0]) for row in db.execute("SELECT id FROM jobs")}
    finally:
        db.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument(
        "--kill-at", type=float, help="SIGKILL every bridge web process this many seconds in"
    )
    args = parser.parse_args(argv)
    report = run_load(args.seconds, args.connections, kill_at=args.kill_at)
    print("Saturation load test: signed webhooks against bridge web")
    print("\n".join(report.lines()))
    return 0 if report.lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
