"""Benchmark 1: what the plugin adds to a post save.

Post saves through the REST API (each publishes a new post without a featured image, so the
plugin signs and sends a webhook) with the plugin active and inactive, interleaved in random
order pair by pair, on the real WordPress with the bridge's web side answering.
"""

from __future__ import annotations

import random
import time

import httpx

from bench.report import Result
from bench.stack import Stack, job_states
from bench.stats import median, percentile, ratio


def _save(editor: httpx.Client, title: str) -> float:
    body = {"title": title, "content": "A post saved by the benchmark.", "status": "publish"}
    started = time.perf_counter()
    response = editor.post("", params={"rest_route": "/wp/v2/posts"}, json=body)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


def run(stack: Stack, quick: bool) -> Result:
    saves = 10 if quick else 100  # per arm: 200 saves in all
    result = Result("publish", "1. Publish cost of the plugin", "active/inactive median ≤ 1.03")
    site = stack.site
    env = stack.bridge_env(BRIDGE_PROVIDER="local")
    rng = random.Random(1)
    timings: dict[bool, list[float]] = {True: [], False: []}
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
            jobs_before = sum(job_states(bridge.data_dir).values())
            for pair in range(saves):
                order = [True, False]
                rng.shuffle(order)
                for active in order:
                    stack.set_plugin_active(admin, active)
                    timings[active].append(_save(editor, f"Publish cost {pair} {active}"))
            stack.set_plugin_active(admin, True)
        webhooks = sum(job_states(bridge.data_dir).values()) - jobs_before
    on, off = timings[True], timings[False]
    result.add("saves per arm (interleaved pairs, random order)", saves, "{}")
    result.add("median save, plugin active (ms)", median(on) * 1000, "{:.1f}")
    result.add("median save, plugin inactive (ms)", median(off) * 1000, "{:.1f}")
    result.add("ratio of medians active/inactive", ratio(median(on), median(off)), "{:.3f}")
    result.add(
        "p90 active / p90 inactive (ms)",
        f"{percentile(on, 90) * 1000:.1f} / {percentile(off, 90) * 1000:.1f}",
    )
    result.add("webhooks the bridge accepted (of active saves)", f"{webhooks} of {saves}")
    result.notes.append(
        "Each save publishes a new post over REST as an editor (Application Password); the "
        "bridge's worker is not running, so no image work loads WordPress during the saves."
    )
    return result
