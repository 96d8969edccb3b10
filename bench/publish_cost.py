"""Benchmark 1: what the plugin adds to a post save.

Post saves through the REST API (each publishes a new post without a featured image, so the
plugin records a webhook and sends it when the request ends) with the plugin active and
inactive, interleaved in random order pair by pair, on the real WordPress with the bridge's
web side answering. The bridge must still receive every webhook: the benchmark counts the jobs
it recorded, and how long after the save began each one was recorded.

The shared WordPress serves with ``php -S``, whose CLI settings leave opcache off, so every
request compiles WordPress and the plugin anew. Production PHP (php-fpm, mod_php) runs with
opcache on; the full run repeats the comparison on a second WordPress served that way.
"""

from __future__ import annotations

import random
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.report import Result
from bench.stack import REPO, Stack, wait_until
from bench.stats import median, percentile, ratio
from devenv.bridge_process import BridgeProcesses
from devenv.wordpress import LocalWordPress


@dataclass
class _Run:
    """One interleaved comparison: save times per arm, and the webhooks of the active saves."""

    timings: dict[bool, list[float]] = field(default_factory=lambda: {True: [], False: []})
    sent_at: dict[int, float] = field(default_factory=dict)  # post id → wall-clock save start
    created: dict[int, float] = field(default_factory=dict)  # post id → job recorded at

    @property
    def ratio(self) -> float:
        return ratio(median(self.timings[True]), median(self.timings[False]))

    @property
    def delivered(self) -> list[float]:
        """Seconds from the start of each active save to the bridge recording its job."""
        return [self.created[p] - wall for p, wall in self.sent_at.items() if p in self.created]


def _save(editor: httpx.Client, title: str) -> tuple[float, int]:
    """Publishes a post; returns the seconds the save took and the post's id."""
    body = {"title": title, "content": "A post saved by the benchmark.", "status": "publish"}
    started = time.perf_counter()
    response = editor.post("", params={"rest_route": "/wp/v2/posts"}, json=body)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, int(response.json()["id"])


def _jobs_created(data_dir: Path, post_ids: list[int]) -> dict[int, float]:
    """When the bridge recorded a job for each of these posts (wall-clock seconds)."""
    path = data_dir / "jobs.sqlite3"
    if not post_ids or not path.exists():
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        marks = ",".join("?" * len(post_ids))
        rows = db.execute(
            "SELECT post_id, MIN(created_at) FROM jobs"
            f" WHERE post_id IN ({marks}) GROUP BY post_id",
            post_ids,
        ).fetchall()
    finally:
        db.close()
    return {int(post_id): float(created) for post_id, created in rows}


def _compare(
    stack: Stack,
    site: LocalWordPress,
    bridge: BridgeProcesses,
    saves: int,
    *,
    webhooks: bool = True,
) -> _Run:
    """``saves`` pairs of REST saves, plugin active and inactive in random order per pair.
    With ``webhooks`` off, the active plugin is loaded but its "Enabled" setting is off."""
    run = _Run()
    rng = random.Random(1)
    site.update_plugin_settings(bridge_url=bridge.url, enabled=webhooks)
    with (
        httpx.Client(base_url=site.url + "/", auth=site.admin.auth, timeout=60) as admin,
        httpx.Client(base_url=site.url + "/", auth=site.editor.auth, timeout=60) as editor,
    ):
        for active in (True, False, True, False):  # warm both paths up
            stack.set_plugin_active(admin, active)
            _save(editor, "Warm-up")
        for pair in range(saves):
            order = [True, False]
            rng.shuffle(order)
            for active in order:
                stack.set_plugin_active(admin, active)
                wall = time.time()
                elapsed, post_id = _save(editor, f"Publish cost {pair} {active}")
                run.timings[active].append(elapsed)
                if active:
                    run.sent_at[post_id] = wall
        stack.set_plugin_active(admin, True)
    site.update_plugin_settings(enabled=True)
    if not webhooks:
        return run
    # The last webhooks leave after their saves answered: give them a moment to land.
    posts = list(run.sent_at)
    wait_until(lambda: len(_jobs_created(bridge.data_dir, posts)) >= saves, timeout=30)
    run.created = _jobs_created(bridge.data_dir, posts)
    return run


def _opcache_run(stack: Stack, saves: int) -> _Run:
    """The same comparison on a second WordPress whose ``php -S`` runs with opcache on.

    With PHP_CLI_SERVER_WORKERS, opcache caches nothing unless it has a file cache too (seen
    here with opcache_get_status(): no cached script, no hit); with one, its workers share hits.
    """
    file_cache = stack.root / "opcache-files"
    file_cache.mkdir(exist_ok=True)
    opcache_on = ("opcache.enable_cli=1", f"opcache.file_cache={file_cache}")
    site = LocalWordPress(
        stack.root / "wordpress-opcache", plugin_dir=REPO / "wp-plugin", server_ini=opcache_on
    )
    with site:
        env = {
            "WP_URL": site.url,
            "WP_USER": site.bridge.login,
            "WP_APP_PASSWORD": site.bridge.app_password,
            "BRIDGE_WEBHOOK_SECRET": str(site.plugin_settings()["secret"]),
            "BRIDGE_LOG_LEVEL": "WARNING",
            "BRIDGE_PROVIDER": "local",
        }
        with stack.bridge(env, roles=("web",)) as bridge:
            return _compare(stack, site, bridge, saves)


def run(stack: Stack, quick: bool) -> Result:
    saves = 10 if quick else 100  # per arm: 200 saves in all
    result = Result("publish", "1. Publish cost of the plugin", "active/inactive median ≤ 1.03")
    # Only the web side runs: the worker would draw images and load WordPress meanwhile.
    with stack.bridge(stack.bridge_env(BRIDGE_PROVIDER="local"), roles=("web",)) as bridge:
        main = _compare(stack, stack.site, bridge, saves)
        loaded = None if quick else _compare(stack, stack.site, bridge, saves, webhooks=False)
    on, off = main.timings[True], main.timings[False]
    result.add("saves per arm (interleaved pairs, random order)", saves, "{}")
    result.add("median save, plugin active (ms)", median(on) * 1000, "{:.1f}")
    result.add("median save, plugin inactive (ms)", median(off) * 1000, "{:.1f}")
    result.add("ratio of medians active/inactive", main.ratio, "{:.3f}")
    result.add(
        "p90 active / p90 inactive (ms)",
        f"{percentile(on, 90) * 1000:.1f} / {percentile(off, 90) * 1000:.1f}",
    )
    result.add("webhooks the bridge accepted (of active saves)", f"{len(main.created)} of {saves}")
    result.add(
        "save start → job recorded by the bridge, p50 / p90 (ms)",
        f"{median(main.delivered) * 1000:.1f} / {percentile(main.delivered, 90) * 1000:.1f}",
    )
    if loaded is not None:
        result.add(
            "plugin loaded, webhooks off: ratio of medians active/inactive", loaded.ratio, "{:.3f}"
        )
    if not quick:
        opcache = _opcache_run(stack, saves)
        on, off = opcache.timings[True], opcache.timings[False]
        result.add(
            "opcache on: median save active / inactive (ms)",
            f"{median(on) * 1000:.1f} / {median(off) * 1000:.1f}",
        )
        result.add("opcache on: ratio of medians active/inactive", opcache.ratio, "{:.3f}")
        result.add("opcache on: webhooks the bridge accepted", f"{len(opcache.created)} of {saves}")
    result.notes.append(
        "Each save publishes a new post over REST as an editor (Application Password); the "
        "bridge's worker is not running, so no image work loads WordPress during the saves."
    )
    result.notes.append(
        "The plugin records the webhook in the save and sends it when the request ends, after "
        "the response: php -S and mod_php get the buffered response with its Content-Length "
        "and Connection: close, php-fpm calls fastcgi_finish_request()."
    )
    result.notes.append(
        "php -S runs without opcache (opcache.enable_cli is off), so each request compiles the "
        "plugin's PHP too. Full run only: 'webhooks off' repeats the pairs with the plugin "
        "active but its Enabled setting off (what loading the plugin costs by itself); the "
        "opcache rows serve the same saves from a second WordPress with opcache on, as php-fpm "
        "and mod_php do."
    )
    return result
