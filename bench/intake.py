"""Benchmark 5: webhook intake of ``bridge web`` (gunicorn) against a bare Flask route on the
same gunicorn settings, loaded by wrk with 100 connections on 127.0.0.1.

Every request to the bridge carries a valid signature and a webhook id of its own (a pool
signed just before each run), and a post id of its own, so each one records and enqueues a
new job. Runs alternate bare, bridge, bridge, bare.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.report import Result
from bench.signing import Signer, payload
from bench.stack import Stack, job_states
from bench.stats import mean
from bridge.config import Settings
from devenv.bridge_process import free_port

LUA = Path(__file__).resolve().parent / "webhooks.lua"
POOL_LUA = LUA.with_name("signed_pool.lua")
CONNECTIONS = 100
WRK_THREADS = 2
SITE_URL = "http://127.0.0.1:9"
SECRET = "whsec_" + "YmVuY2htYXJrLXNlY3JldC1ub3QtYS1yZWFsLW9uZSE="


@dataclass(frozen=True)
class WrkRun:
    requests: int
    seconds: float
    status_errors: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    reused_ids: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def write_pool(path: Path, size: int, first_post_id: int) -> None:
    """``size`` freshly signed webhooks, one per line, each for a post of its own."""
    signer = Signer(SECRET)
    with path.open("w") as out:
        for n in range(size):
            body, headers = signer.signed(payload(SITE_URL, first_post_id + n, f"Intake {n}"))
            out.write(
                f"{headers['webhook-id']}\t{headers['webhook-timestamp']}\t"
                f"{headers['webhook-signature']}\t{body.decode()}\n"
            )


def wrk(url: str, pool: Path, seconds: int) -> WrkRun:
    command = [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "-s",
        str(LUA),
        url,
    ]
    env = {
        **os.environ,
        "WRK_POOL": str(pool),
        "WRK_THREADS": str(WRK_THREADS),
        "WRK_POOL_SCRIPT": str(POOL_LUA),
    }
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed: {out.stderr.strip()}")
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("{"))
    data = json.loads(line)
    return WrkRun(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        status_errors=int(data["status_errors"]),
        socket_errors=int(data["socket_errors"]),
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        reused_ids=int(data["reused_ids"]),
    )


@contextmanager
def server(args: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[tuple[str, int]]:
    """Runs a web server in a process group of its own until the block ends; yields its
    webhook URL and the group's id."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, *args],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{args} exited: {log.read_text()[-2000:]}")
            try:
                httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{args} did not start") from None
                time.sleep(0.1)
        yield url + "/webhook", proc.pid
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def group_cpu_seconds(group: int) -> float:
    """CPU time (user + system) used so far by the live processes of a process group."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[2]) == group:  # fields[2] is the process group (field 5 of stat)
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / ticks


def run(stack: Stack, quick: bool) -> Result:
    seconds, rounds, pool_size = (2, 1, 8000) if quick else (10, 2, 40000)
    result = Result(
        "intake",
        "5. Webhook intake: bridge web vs a bare Flask route (gunicorn, wrk, 100 connections)",
        "≥ 0.5 of bare throughput; p99 ≤ 20 ms",
    )
    if shutil.which("wrk") is None:
        result.notes.append("wrk is not installed (Debian package wrk): not measured.")
        return result
    runs: dict[str, list[WrkRun]] = {"bare": [], "bridge": []}
    processes = threads = 0
    cpu = {"bare": 0.0, "bridge": 0.0}
    with tempfile.TemporaryDirectory(prefix="fib-intake-") as tmp:
        root = Path(tmp)
        bare_port, bridge_port = free_port(), free_port()
        bridge_env = {
            "BRIDGE_WEBHOOK_SECRET": SECRET,
            "WP_URL": SITE_URL,
            "WP_USER": "bench",
            "WP_APP_PASSWORD": "bench bench",
            "BRIDGE_DATA_DIR": str(root / "bridge"),
            "BRIDGE_PORT": str(bridge_port),
            "BRIDGE_LOG_LEVEL": "WARNING",
        }
        server_settings = Settings.from_env({**os.environ, **bridge_env})
        processes, threads = server_settings.web_processes, server_settings.web_threads
        bare_args = [
            *("-m", "bench.bare_app", "--port", str(bare_port)),
            *("--processes", str(processes), "--threads", str(threads)),
        ]
        with (
            server(bare_args, {}, bare_port, root / "bare.log") as (bare_url, bare_group),
            server(["-m", "bridge.cli", "web"], bridge_env, bridge_port, root / "web.log") as (
                url,
                bridge_group,
            ),
        ):
            order = ["bare", "bridge", "bridge", "bare"] if rounds > 1 else ["bare", "bridge"]
            next_post = 1
            for arm in order:
                pool = root / f"pool-{next_post}.tsv"
                write_pool(pool, pool_size, next_post)
                next_post += pool_size
                group = bare_group if arm == "bare" else bridge_group
                cpu_before = group_cpu_seconds(group)
                runs[arm].append(wrk(bare_url if arm == "bare" else url, pool, seconds))
                cpu[arm] += group_cpu_seconds(group) - cpu_before
        recorded = sum(job_states(root / "bridge").values())
    bare, bridge = runs["bare"], runs["bridge"]
    bare_rate, bridge_rate = mean([r.rate for r in bare]), mean([r.rate for r in bridge])
    result.add("runs per server × seconds", f"{len(bridge)} × {seconds}")
    result.add("bare: requests/s", bare_rate, "{:.0f}")
    result.add("bridge: requests/s", bridge_rate, "{:.0f}")
    result.add("bridge / bare throughput", bridge_rate / bare_rate, "{:.2f}")
    bare_cpu = 1000 * cpu["bare"] / max(1, sum(r.requests for r in bare))
    bridge_cpu = 1000 * cpu["bridge"] / max(1, sum(r.requests for r in bridge))
    result.add("server CPU per request, bare / bridge (ms)", f"{bare_cpu:.3f} / {bridge_cpu:.3f}")
    result.add(
        "bare / bridge CPU per request", bare_cpu / bridge_cpu if bridge_cpu else 0, "{:.2f}"
    )
    result.add(
        "bare: latency p50 / p99 (ms)",
        f"{max(r.p50_ms for r in bare):.1f} / {max(r.p99_ms for r in bare):.1f}",
    )
    result.add(
        "bridge: latency p50 / p99 (ms)",
        f"{max(r.p50_ms for r in bridge):.1f} / {max(r.p99_ms for r in bridge):.1f}",
    )
    result.add(
        "bridge: non-2xx answers / socket errors",
        f"{sum(r.status_errors for r in bridge)} / {sum(r.socket_errors for r in bridge)}",
    )
    result.add(
        "bridge: jobs recorded / requests answered",
        f"{recorded} / {sum(r.requests for r in bridge)}",
    )
    result.add("bridge: requests that reused a webhook id", sum(r.reused_ids for r in bridge), "{}")
    result.notes.append(
        f"gunicorn as `bridge web` runs it (bridge/web_server.py): {processes} processes × "
        f"{threads} threads (gthread), for both servers; wrk {WRK_THREADS} threads on the same "
        "machine. Latency is the worse of the runs."
    )
    result.notes.append(
        "CPU per request is the servers' own CPU time (all their processes) over the requests "
        "they answered; on a machine shared with other work it is steadier than requests/s, "
        "and its ratio is the throughput ratio the servers would reach if CPU-bound alone."
    )
    result.notes.append(
        "At saturation a closed loop of 100 clients waits 100 / throughput on average "
        "(Little's law), so p99 ≤ 20 ms needs more than 5,000 answers/s from either server."
    )
    return result
