"""The ``bridge`` command: ``bridge web``, ``bridge worker``, ``bridge check``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bridge import __version__
from bridge.cli_backfill import add_command as add_backfill_command
from bridge.cli_status import add_commands as add_status_commands
from bridge.config import ConfigError, Settings
from bridge.logs import configure_logging


def _web(settings: Settings, args: argparse.Namespace) -> int:
    from bridge.app import create_app
    from bridge.metrics_api import exposure_warning
    from bridge.web_server import serve

    if args.access_log:
        settings = replace(settings, access_log=True)
    warning = exposure_warning(settings)
    if warning:
        logging.getLogger(__name__).warning("%s", warning)
    overrides: dict[str, Any] = {}
    if args.processes is not None:
        overrides["workers"] = args.processes
    if args.threads is not None:
        overrides["threads"] = args.threads
    serve(create_app(settings), settings, config_file=args.config, overrides=overrides)
    return 0


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from bridge.backends import create_backend
    from bridge.cli_status import worker_heartbeat
    from bridge.periodic import Periodic
    from bridge.reconcile import Reconciler
    from bridge.sweeper import Sweeper
    from bridge.tasks import create_queue
    from bridge.wordpress import create_wordpress

    backend = create_backend(settings)
    queue = create_queue(settings, backend=backend)
    # Before any thread runs: backfill jobs a killed worker lost go back on the queue, and
    # the runs that were running carry on.
    recovered = queue.feeder().recover(queue.queued_job_ids())
    if recovered:
        logging.getLogger(__name__).info("backfill: %s jobs queued at start", recovered)
    store = queue.store
    # Each worker sweeps; the sweep claims stalled jobs atomically, so several workers can.
    background = [
        Periodic(
            "sweep",
            settings.sweep_interval,
            Sweeper(queue.leases, queue, settings.lease_seconds).sweep,
        )
    ]
    background.append(worker_heartbeat(backend.metrics()))  # `bridge status` sees it alive
    if settings.reconcile_interval > 0:
        reconciler = Reconciler(store, queue, create_wordpress(settings), settings.wp_url)
        background.append(Periodic("reconcile", settings.reconcile_interval, reconciler.reconcile))
    # An idle worker looks for new jobs every tenth of a second (huey's default backs off to
    # 10 s), so a post published after a quiet spell starts at once, and a job the poll timer
    # wakes is polled at its time (0.4 % of a core for four idle threads). Periodic tasks on:
    # the backfill feeder's safety net runs every minute.
    consumer = queue.huey.create_consumer(
        workers=settings.worker_threads, worker_type="thread", periodic=True, max_delay=0.1
    )
    for thread in background:
        thread.start()
    try:
        consumer.run()
    finally:
        queue.poll_timer.stop()
        for thread in background:
            thread.stop()
    return 0


def _check(settings: Settings, args: argparse.Namespace) -> int:
    from bridge.wordpress import WordPressError, create_wordpress

    print(f"provider: {settings.provider}")
    where = settings.wp_xmlrpc_url if settings.wp_transport == "xmlrpc" else settings.wp_url
    print(f"WordPress: {where} ({settings.wp_transport}) as {settings.wp_user}")
    print(f"data: {settings.data_dir.resolve()}")
    site = create_wordpress(settings)
    try:
        description = site.check()
    except WordPressError as exc:
        print(f"WordPress: FAILED: {exc.message}", file=sys.stderr)
        return 1
    finally:
        site.close()
    print(f"WordPress: credentials accepted: {description}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bridge", description="Featured Image Bridge: AI featured images for WordPress."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    web = commands.add_parser("web", help="serve the webhook endpoint (gunicorn)")
    web.add_argument(
        "--processes", type=int, help="gunicorn worker processes (default BRIDGE_WEB_PROCESSES)"
    )
    web.add_argument("--threads", type=int, help="threads per process (default BRIDGE_WEB_THREADS)")
    web.add_argument("--access-log", action="store_true", help="log every request")
    web.add_argument(
        "--config", type=Path, help="a gunicorn config file read after the bridge's settings"
    )
    web.set_defaults(handler=_web)
    worker = commands.add_parser("worker", help="run queued jobs (threads: BRIDGE_WORKERS)")
    worker.set_defaults(handler=_worker)
    check = commands.add_parser("check", help="validate settings and reach WordPress")
    check.set_defaults(handler=_check)
    add_backfill_command(commands)
    add_status_commands(commands)
    args = parser.parse_args(argv)

    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"bridge: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    handler = args.handler
    return int(handler(settings, args))


if __name__ == "__main__":
    sys.exit(main())
