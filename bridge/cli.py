"""The ``bridge`` command: ``bridge web``, ``bridge worker``, ``bridge check``, ``bridge sites``
(and ``bridge backfill``, ``bridge status``)."""

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
from bridge.cli_sites import add_command as add_sites_command
from bridge.cli_status import add_commands as add_status_commands
from bridge.config import ConfigError, Settings
from bridge.logs import configure_logging
from bridge.options import GenerationOptions


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
    from bridge.nudged_queue import NudgedConsumer
    from bridge.periodic import Periodic
    from bridge.reconcile import Reconciler, reconcile_each
    from bridge.sites import SiteRegistry
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
        reconcilers = [
            Reconciler(
                store,
                queue,
                create_wordpress(site.settings(settings)),
                site.url,
                options=site.job_options(GenerationOptions()),
            )
            for site in SiteRegistry.from_settings(settings)
        ]
        background.append(
            Periodic("reconcile", settings.reconcile_interval, lambda: reconcile_each(reconcilers))
        )
    # An idle worker looks for new jobs every tenth of a second (huey's default backs off to
    # 10 s), so a post published after a quiet spell starts at once (0.4 % of a core for four
    # idle threads); a task this process queues (a due poll, a job woken for a free slot)
    # wakes one at once (``bridge.nudged_queue``). Periodic tasks on: the backfill feeder's
    # safety net runs every minute.
    consumer = NudgedConsumer(
        queue.huey,
        workers=settings.worker_threads,
        worker_type="thread",
        periodic=True,
        max_delay=0.1,
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
    from bridge.sites import SiteRegistry
    from bridge.wordpress import WordPressError, create_wordpress

    print(f"data: {settings.data_dir.resolve()}")
    failed = 0
    for site in SiteRegistry.from_settings(settings):
        print(f"site: {site.url}")
        print(f"  provider: {site.provider} (key {site.key_id})")
        print(f"  WordPress: {site.endpoint} ({site.wp_transport}) as {site.wp_user}")
        client = create_wordpress(site.settings(settings))
        try:
            description = client.check()
        except WordPressError as exc:
            print(f"{site.url}: WordPress: FAILED: {exc.message}", file=sys.stderr)
            failed += 1
            continue
        finally:
            client.close()
        print(f"  WordPress: credentials accepted: {description}")
    return 1 if failed else 0


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
    add_sites_command(commands)
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
