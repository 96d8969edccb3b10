"""The fake Segmind as a loaded service: run-time spread, concurrency cap, rate limit and
the per-job records the benchmarks read."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator

import httpx
import pytest

from devenv.segmind_fake import FakeSegmind, JobScript, LognormalRunTimes

KEY = "fake-load-key"


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(headers={"x-api-key": KEY}, timeout=5.0) as client:
        yield client


def submit(http: httpx.Client, fake: FakeSegmind) -> httpx.Response:
    return http.post(fake.workflow_url, json={"Blog_title_and_description": "A post"})


def test_run_times_follow_the_lognormal(http: httpx.Client) -> None:
    spread = LognormalRunTimes(median=35.0, sigma=0.35, scale=1.0, seed=7)
    with FakeSegmind(api_keys=(KEY,), default_job=JobScript(queued_s=0.0), run_times=spread) as f:
        for _ in range(200):
            assert submit(http, f).status_code == 200
        run_times = [r.finished - r.started for r in f.records()]
    assert 30.0 < statistics.median(run_times) < 40.0
    spread_of_logs = statistics.stdev(math.log(t) for t in run_times)
    assert 0.28 < spread_of_logs < 0.42


def test_concurrency_cap_queues_jobs_first_come_first_served(http: httpx.Client) -> None:
    job = JobScript(queued_s=0.0, processing_s=30.0)
    with FakeSegmind(api_keys=(KEY,), default_job=job, concurrency=2) as f:
        ids = [submit(http, f).json()["request_id"] for _ in range(3)]
        first, second, third = f.records()
        assert [f.status_of(i) for i in ids] == ["PROCESSING", "PROCESSING", "QUEUED"]
    assert third.started == pytest.approx(first.finished)
    assert second.started < first.finished


def test_rate_limit_answers_429_with_a_reset_time(http: httpx.Client) -> None:
    with FakeSegmind(api_keys=(KEY,), rate_limit=(2, 60.0)) as f:
        answers = [submit(http, f) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert answers[2].headers["x-rate-limit-reset-at-utc"].endswith("Z")
        assert (f.rate_limited, f.stats()["submissions"], f.stats()["credits"]) == (1, 2, 998)


def test_records_count_polls_and_when_completion_was_seen(http: httpx.Client) -> None:
    with FakeSegmind(api_keys=(KEY,), default_job=JobScript(queued_s=0.0, processing_s=0.0)) as f:
        poll_url = submit(http, f).json()["poll_url"]
        assert http.get(poll_url).json()["status"] == "COMPLETED"
        http.get(poll_url)
        (record,) = f.records()
        remote = httpx.get(f"{f.base_url}/_fake/records").json()
    assert record.polls == 2
    assert record.seen_done is not None and record.detection_delay is not None
    assert record.detection_delay >= 0
    assert remote[0]["polls"] == 2 and remote[0]["request_id"] == record.request_id
