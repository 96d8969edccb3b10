"""Benchmark 3: the bridge's own share of publish → featured image set, on the real WordPress.

An editor publishes a post over REST; the time runs from the start of that save until the
job record says done (written right after WordPress accepted the featured image). The
provider's own time is taken away: the title card's render time (measured in this process on
the same titles) or the fake Segmind job's run time.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.report import Result
from bench.stack import Stack, job_of_post
from bench.stats import median, percentile
from bridge.prompt import build_prompt
from bridge.providers.local import LocalProvider
from devenv.segmind_fake import FakeSegmind, JobScript

FAKE_RUN_TIME = 0.5  # seconds the fake Segmind job takes
FAKE_POLL_INTERVAL = 0.25  # seconds between the bridge's polls of the fake


class _NoCheckpoint:
    def load(self) -> str | None:
        return None

    def save(self, reference: str) -> None:
        pass

    def load_progress(self) -> str | None:
        return None

    def save_progress(self, progress: str) -> None:
        pass

    def finished(self) -> None:
        pass


def publish_and_wait(editor: httpx.Client, data_dir: Path, title: str) -> tuple[int, float]:
    """Publishes a post; returns its id and the seconds until its job is done."""
    body = {"title": title, "excerpt": "Measuring the bridge.", "status": "publish"}
    started = time.time()
    response = editor.post("", params={"rest_route": "/wp/v2/posts"}, json=body)
    response.raise_for_status()
    post_id = int(response.json()["id"])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = job_of_post(data_dir, post_id)
        if job is not None and job[0] in ("done", "failed"):
            if job[0] == "failed":
                raise RuntimeError(f"the job for post {post_id} failed")
            return post_id, job[1] - started
        time.sleep(0.01)
    raise TimeoutError(f"post {post_id} got no featured image in 120 s")


def _featured(editor: httpx.Client, post_id: int) -> int:
    response = editor.get(
        "", params={"rest_route": f"/wp/v2/posts/{post_id}", "_fields": "featured_media"}
    )
    response.raise_for_status()
    return int(response.json().get("featured_media") or 0)


def run(stack: Stack, quick: bool) -> Result:
    local_posts, fake_batches, batch = (3, 1, 2) if quick else (20, 2, 4)
    result = Result(
        "overhead",
        "3. Bridge overhead: publish → featured image, minus the provider's time",
        "≤ 1.0 s p50",
    )
    site = stack.site
    editor = httpx.Client(base_url=site.url + "/", auth=site.editor.auth, timeout=60)
    try:
        # Local title cards.
        titles = [f"Why slow mornings make better developers, part {i}" for i in range(local_posts)]
        totals: list[float] = []
        with stack.bridge(stack.bridge_env(BRIDGE_PROVIDER="local")) as bridge:
            site.update_plugin_settings(bridge_url=bridge.url, enabled=True)
            publish_and_wait(editor, bridge.data_dir, "Warm-up")
            posts = []
            for title in titles:
                post_id, total = publish_and_wait(editor, bridge.data_dir, title)
                posts.append(post_id)
                totals.append(total)
        provider = LocalProvider()
        renders = []
        for title in titles:
            started = time.perf_counter()
            provider.generate(build_prompt(title, "Measuring the bridge."), _NoCheckpoint())
            renders.append(time.perf_counter() - started)
        featured = sum(1 for post_id in posts if _featured(editor, post_id))
        local = [total - render for total, render in zip(totals, renders, strict=True)]
        result.add("local: posts (one at a time)", local_posts, "{}")
        result.add("local: publish → featured p50 (s)", median(totals), "{:.2f}")
        result.add("local: title card render p50 (s)", median(renders), "{:.2f}")
        result.add(
            "local: overhead p50 / p90 (s)", f"{median(local):.2f} / {percentile(local, 90):.2f}"
        )
        result.add("local: posts with the featured image set", f"{featured} of {local_posts}")

        # The Segmind fake, with the bridge's default polling.
        fake_totals: list[float] = []
        with FakeSegmind(default_job=JobScript(queued_s=0.0, processing_s=FAKE_RUN_TIME)) as fake:
            env = stack.bridge_env(
                SEGMIND_API_KEY=fake.api_key,
                SEGMIND_WORKFLOW_URL=fake.workflow_url,
                SEGMIND_POLL_INTERVAL=str(FAKE_POLL_INTERVAL),
            )
            with stack.bridge(env) as bridge:
                site.update_plugin_settings(bridge_url=bridge.url, enabled=True)
                titles = [f"Segmind overhead {n}" for n in range(fake_batches * batch)]
                for start in range(0, len(titles), batch):
                    with ThreadPoolExecutor(batch) as pool:
                        done = pool.map(
                            lambda title: publish_and_wait(editor, bridge.data_dir, title),
                            titles[start : start + batch],
                        )
                        fake_totals += [total for _, total in done]
            delays = [r.detection_delay for r in fake.records() if r.detection_delay is not None]
        fake_overhead = [total - FAKE_RUN_TIME for total in fake_totals]
        result.add("segmind fake: posts (batches of BRIDGE_WORKERS)", len(fake_totals), "{}")
        result.add("segmind fake: job run time (s)", FAKE_RUN_TIME, "{:.2f}")
        result.add("segmind fake: publish → featured p50 (s)", median(fake_totals), "{:.2f}")
        result.add(
            "segmind fake: overhead p50 / p90 (s)",
            f"{median(fake_overhead):.2f} / {percentile(fake_overhead, 90):.2f}",
        )
        result.add("segmind fake: of which detection delay p50 (s)", median(delays), "{:.2f}")
        result.notes.append(
            f"The Segmind bridge polls every {FAKE_POLL_INTERVAL:g} s (SEGMIND_POLL_SCHEDULE "
            "fixed): the fake's runs are short, and the schedule is measured in benchmark 2. "
            "The detection delay here is the poll interval's share plus the worker's own: the "
            "poll timer waking the job and a worker thread taking it from the queue."
        )
    finally:
        editor.close()
    return result
