"""Benchmark 1: what the plugin adds to a post save.

Post saves through the REST API (each publishes a new post without a featured image, so the
plugin records a webhook and sends it when the request ends) with the plugin active and
inactive, interleaved in random order pair by pair, on the real WordPress with the bridge's
web side answering. The bridge must still receive every webhook: the benchmark counts the jobs
it recorded, and how long after the save began each one was recorded.
"""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path

import httpx

from bench.report import Result
from bench.stack import Stack, job_states, wait_until
from bench.stats import median, percentile, ratio


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
    db = sqlite3.connect(f"file:{data_dir / 'jobs.sqlite3'}?mode=ro", uri=True, timeout=30)
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


def run(stack: Stack, quick: bool) -> Result:
    saves = 10 if quick else 100  # per arm: 200 saves in all
    result = Result("publish", "1. Publish cost of the plugin", "active/inactive median ≤ 1.03")
    site = stack.site
    env = stack.bridge_env(BRIDGE_PROVIDER="local")
    rng = random.Random(1)
    timings: dict[bool, list[float]] = {True: [], False: []}
    sent_at: dict[int, float] = {}  # post id → wall-clock start of its (active) save
    # Only the web side runs: the worker would draw images and load WordPress meanwhile.
    with stack.bridge(env, roles=("web",)) as bridge:
        site.update_plugin_settings(bridge_url=bridge.url, enabled=True)
        with (
            stack.admin_client() as admin,
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
                    timings[active].append(elapsed)
                    if active:
                        sent_at[post_id] = wall
            stack.set_plugin_active(admin, True)
        # The last webhooks leave after their saves answered: give them a moment to land.
        wait_until(
            lambda: len(_jobs_created(bridge.data_dir, list(sent_at))) >= saves,
            timeout=30,
        )
        created = _jobs_created(bridge.data_dir, list(sent_at))
        jobs_total = sum(job_states(bridge.data_dir).values())
    on, off = timings[True], timings[False]
    delivered = [created[post_id] - wall for post_id, wall in sent_at.items() if post_id in created]
    result.add("saves per arm (interleaved pairs, random order)", saves, "{}")
    result.add("median save, plugin active (ms)", median(on) * 1000, "{:.1f}")
    result.add("median save, plugin inactive (ms)", median(off) * 1000, "{:.1f}")
    result.add("ratio of medians active/inactive", ratio(median(on), median(off)), "{:.3f}")
    result.add(
        "p90 active / p90 inactive (ms)",
        f"{percentile(on, 90) * 1000:.1f} / {percentile(off, 90) * 1000:.1f}",
    )
    result.add("webhooks the bridge accepted (of active saves)", f"{len(created)} of {saves}")
    result.add(
        "save start → job recorded by the bridge, p50 / p90 (ms)",
        f"{median(delivered) * 1000:.1f} / {percentile(delivered, 90) * 1000:.1f}",
    )
    result.notes.append(
        "Each save publishes a new post over REST as an editor (Application Password); the "
        "bridge's worker is not running, so no image work loads WordPress during the saves. "
        f"The bridge recorded {jobs_total} jobs in all (the warm-up saves included)."
    )
    result.notes.append(
        "The plugin sends the webhook when the save's request ends, after the response: "
        "php -S and mod_php get the buffered response with its Content-Length and "
        "Connection: close, php-fpm calls fastcgi_finish_request(). `php -S` runs without "
        "opcache (opcache.enable_cli is off), so both arms parse their PHP on every request."
    )
    return result
