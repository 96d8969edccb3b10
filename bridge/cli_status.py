"""``bridge jobs`` and ``bridge status``: the job record and the bridge's health in a terminal.

Both read the backend directly (the job database in ``BRIDGE_DATA_DIR``, or Redis), so they
work with the web side down. ``bridge status`` asks the web side's ``/healthz`` and reads the
workers' heartbeats (with Redis: those of every worker of the fleet, on any machine).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import httpx

from bridge.backends import create_backend
from bridge.config import Settings
from bridge.events import HEARTBEAT_INTERVAL, Metrics, alive
from bridge.jobs import Job, JobState
from bridge.periodic import Periodic
from bridge.recorders import CREDITS

_MESSAGE_WIDTH = 60


def worker_heartbeat(metrics: Metrics) -> Periodic:
    """The worker's heartbeat thread: ``bridge status`` and ``/metrics`` count it alive."""
    name = f"{socket.gethostname()}:{os.getpid()}"
    return Periodic("heartbeat", HEARTBEAT_INTERVAL, lambda: metrics.heartbeat(name))


def add_commands(commands: Any) -> None:
    """Registers ``jobs`` and ``status`` on the ``bridge`` parser's subcommands."""
    jobs = commands.add_parser("jobs", help="list recent jobs (newest first)")
    jobs.add_argument("--state", choices=[state.value for state in JobState])
    jobs.add_argument("--site", help="only this site URL")
    jobs.add_argument("--post", type=int, help="only this post id")
    jobs.add_argument("--limit", type=int, default=20, help="at most this many (default 20)")
    jobs.add_argument("--json", action="store_true", help="one JSON array instead of a table")
    jobs.set_defaults(handler=show_jobs)
    status = commands.add_parser(
        "status", help="queue depth, jobs by state, last errors, credits, web and worker alive"
    )
    status.add_argument("--json", action="store_true", help="one JSON object instead of text")
    status.set_defaults(handler=show_status)


def show_jobs(settings: Settings, args: argparse.Namespace) -> int:
    store = create_backend(settings).job_store()  # a fresh data dir gets an empty job record
    jobs = store.recent_jobs(
        state=args.state,
        site=args.site.rstrip("/") if args.site else None,
        post_id=args.post,
        limit=max(args.limit, 1),
    )
    if args.json:
        print(json.dumps([_job_json(job) for job in jobs], indent=2))
        return 0
    if not jobs:
        print("no jobs")
        return 0
    rows = [
        (
            job.id,
            _time(job.updated_at),
            job.state.value,
            str(job.post_id),
            job.site_url,
            str(job.attempts),
            _short(job.error or ""),
        )
        for job in jobs
    ]
    _table(("JOB", "UPDATED (UTC)", "STATE", "POST", "SITE", "TRIES", "ERROR"), rows)
    return 0


def show_status(settings: Settings, args: argparse.Namespace) -> int:
    """Prints the bridge's state; exits 1 when the web side or every worker is down."""
    report = status_report(settings)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_status(report)
    return 0 if report["web"]["alive"] and report["workers"]["alive"] else 1


def status_report(settings: Settings) -> dict[str, Any]:
    """Everything ``bridge status`` shows, as plain data."""
    from bridge.tasks import create_queue

    backend = create_backend(settings)
    store = backend.job_store()
    huey = create_queue(settings, store=store, backend=backend).huey
    counts = store.counts_by_site_state()
    totals = {state.value: 0 for state in JobState}
    for states in counts.values():
        for state, n in states.items():
            totals[state] = totals.get(state, 0) + n
    metrics = backend.metrics()
    gauges = metrics.gauges()
    beats = metrics.heartbeats()
    return {
        "queue": {
            "pending_tasks": huey.pending_count(),
            "scheduled_tasks": huey.scheduled_count(),
            "queued_jobs_by_site": {
                site: states.get(JobState.QUEUED.value, 0) for site, states in counts.items()
            },
        },
        "jobs_by_state": totals,
        "last_errors": [{**asdict(error), "at": _time(error.at)} for error in store.last_errors()],
        "credits": {
            g.labels.get("provider", ""): {"remaining": int(g.value), "at": _time(g.updated_at)}
            for g in gauges
            if g.name == CREDITS
        },
        "web": _web_health(settings),
        "workers": {
            "alive": len(alive(beats)),
            "last_heartbeat": _time(max(beat.at for beat in beats)) if beats else None,
        },
    }


def _web_health(settings: Settings) -> dict[str, Any]:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "") else settings.host
    host = "[::1]" if host == "::" else (f"[{host}]" if ":" in host else host)
    url = f"http://{host}:{settings.port}/healthz"
    try:
        response = httpx.get(url, timeout=httpx.Timeout(3.0))
    except httpx.HTTPError as exc:
        return {"url": url, "alive": False, "detail": f"not reachable ({type(exc).__name__})"}
    ok = response.status_code == 200
    return {"url": url, "alive": ok, "detail": f"HTTP {response.status_code}"}


def _print_status(report: dict[str, Any]) -> None:
    web, workers, queue = report["web"], report["workers"], report["queue"]
    print(f"web:     {'alive' if web['alive'] else 'DOWN'} ({web['url']}: {web['detail']})")
    last = workers["last_heartbeat"] or "never"
    print(f"workers: {workers['alive']} alive (last heartbeat {last})")
    print(f"queue:   {queue['pending_tasks']} pending, {queue['scheduled_tasks']} scheduled")
    for site, depth in sorted(queue["queued_jobs_by_site"].items()):
        print(f"         {depth} queued for {site}")
    states = ", ".join(f"{n} {state}" for state, n in report["jobs_by_state"].items())
    print(f"jobs:    {states}")
    if report["credits"]:
        for provider, credits in sorted(report["credits"].items()):
            print(f"credits: {credits['remaining']} left at {provider} ({credits['at']})")
    else:
        print("credits: not reported yet")
    if not report["last_errors"]:
        print("errors:  none")
    for error in report["last_errors"]:
        print(
            f"error:   {error['kind']}: {error['at']} job {error['job_id']} post "
            f"{error['post_id']}: {_short(error['message'])}"
        )


def _job_json(job: Job) -> dict[str, Any]:
    return {**job.public(), "site_url": job.site_url, "run_id": job.run_id}


def _time(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MESSAGE_WIDTH else line[: _MESSAGE_WIDTH - 1] + "…"


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
