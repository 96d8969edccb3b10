"""``bridge backfill``: fill every post without a featured image, from the command line.

Works on the bridge's own job store and queue (the same settings as ``bridge worker``); the
worker generates the images. The command shows the run's progress until it ends; Ctrl-C only
stops watching.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from tqdm import tqdm

from bridge.backends import create_backend
from bridge.backfill import RunConflict, RunProgress, Runs, preview
from bridge.config import Settings
from bridge.options import GenerationOptions
from bridge.sites import Site, SiteRegistry
from bridge.tasks import JobQueue, create_queue

POLL_SECONDS = 1.0
EXIT_INTERRUPTED = 130


def add_command(commands: Any) -> None:
    """Adds ``backfill`` to the ``bridge`` command's subparsers."""
    backfill = commands.add_parser(
        "backfill",
        help="give every post without a featured image one (the worker generates them)",
        description="Starts a backfill run and shows its progress until it ends. Ctrl-C "
        "stops watching; the run goes on.",
    )
    backfill.add_argument(
        "--dry-run", action="store_true", help="only count the posts; start nothing"
    )
    backfill.add_argument(
        "--limit", type=_positive, metavar="N", help="fill at most N posts (newest first)"
    )
    backfill.add_argument(
        "--site",
        metavar="URL",
        help="the site to fill (needed when the bridge serves several, see `bridge sites`)",
    )
    backfill.add_argument(
        "--post-type",
        action="append",
        dest="post_types",
        metavar="T",
        help="a post type to fill (repeatable; default: post)",
    )
    actions = backfill.add_mutually_exclusive_group()
    for action, text in (
        ("status", "show a run's progress"),
        ("watch", "show a run's progress until it ends"),
        ("pause", "stop queuing a run's posts (those already queued finish)"),
        ("resume", "continue a paused run"),
        ("cancel", "end a run; posts not yet queued are left as they are"),
    ):
        actions.add_argument(f"--{action}", metavar="RUN", help=text)
    backfill.set_defaults(handler=run_command)


def run_command(settings: Settings, args: argparse.Namespace) -> int:
    backend = create_backend(settings)
    queue = create_queue(settings, backend=backend)
    runs = backend.run_store(queue.store)
    if args.status or args.watch:
        run = runs.get(args.status or args.watch)
        if run is None:
            return _unknown(args.status or args.watch)
        if args.status:
            print(_summary(run))
            return 0
        return _watch(runs, run)
    for action in ("pause", "resume", "cancel"):
        run_id = getattr(args, action)
        if run_id:
            return _change(runs, queue, action, run_id)
    return _start(settings, runs, queue, args)


def _site(settings: Settings, url: str | None) -> Site | None:
    """The site to fill: the one named, or the only one; None (after saying why) if neither."""
    registry = SiteRegistry.from_settings(settings)
    site = registry.find(url) if url else registry.only()
    if site is None:
        known = ", ".join(s.url for s in registry)
        why = f"this bridge does not serve {url}" if url else "name a site with --site URL"
        print(f"bridge backfill: {why} (sites: {known})", file=sys.stderr)
    return site


def _start(settings: Settings, runs: Runs, queue: JobQueue, args: argparse.Namespace) -> int:
    from bridge.wordpress import WordPressError, create_wordpress

    post_types = tuple(dict.fromkeys(args.post_types or ["post"]))
    chosen = _site(settings, args.site)
    if chosen is None:
        return 2
    site = create_wordpress(chosen.settings(settings))
    print(
        f"Listing the {', '.join(post_types)} posts of {chosen.url} without an image…",
        flush=True,
    )
    try:
        posts = list(site.list_missing(post_types, args.limit))
    except WordPressError as exc:
        print(f"bridge backfill: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted while listing: nothing was started.", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        site.close()
    if args.dry_run:
        result = preview(runs, chosen.url, posts)
        print(
            f"{result.posts} posts have no featured image; {result.generations} would get one "
            "(the others have a job under way). Dry run: nothing was started."
        )
        for post in result.sample:
            print(f"  #{post['post_id']}: {post['title']}")
        return 0
    run = runs.create(
        chosen.url,
        posts,
        post_types=post_types,
        limit=args.limit,
        options=chosen.job_options(GenerationOptions()),
    )
    queue.feeder().feed()
    intro = (
        f"Backfill run {run.id}: {run.total} posts ({run.skipped} skipped: under way).\n"
        "The bridge worker generates the images (`bridge worker` must be running)."
    )
    return _watch(runs, run, intro)


def _watch(runs: Runs, run: RunProgress, intro: str = "") -> int:
    """Shows the run's progress until it ends; Ctrl-C stops watching, not the run."""
    bar: tqdm[Any] | None = None
    try:
        if intro:
            print(intro, flush=True)
        bar = tqdm(total=run.total, unit="post", desc=f"run {run.id[:8]}", dynamic_ncols=True)
        while True:
            bar.n = run.done + run.failed + run.cancelled
            bar.set_postfix(
                state=run.state.value, done=run.done, failed=run.failed, remaining=run.remaining
            )
            if run.finished:
                break
            time.sleep(POLL_SECONDS)
            run = runs.get(run.id) or run
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        print(
            f"\nStopped watching. Run {run.id} goes on in the worker.\n"
            f"  progress: bridge backfill --status {run.id}\n"
            f"  pause:    bridge backfill --pause {run.id}\n"
            f"  cancel:   bridge backfill --cancel {run.id}",
            flush=True,
        )
        return EXIT_INTERRUPTED
    bar.close()
    print(_summary(run))
    return 1 if run.failed else 0


def _change(runs: Runs, queue: JobQueue, action: str, run_id: str) -> int:
    try:
        run = getattr(runs, action)(run_id)
    except RunConflict as exc:
        print(f"bridge backfill: {exc.message}", file=sys.stderr)
        return 1
    if run is None:
        return _unknown(run_id)
    if action == "resume":
        queue.feeder().feed()
        run = runs.get(run_id) or run
    print(_summary(run))
    return 0


def _summary(run: RunProgress) -> str:
    return (
        f"Run {run.id}: {run.state.value}; {run.total} posts: {run.done} done, "
        f"{run.failed} failed, {run.cancelled} cancelled, {run.remaining} remaining."
    )


def _unknown(run_id: str) -> int:
    print(f"bridge backfill: no run {run_id}", file=sys.stderr)
    return 1


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
