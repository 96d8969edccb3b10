"""The fake Segmind itself: timing, answers, auth, credits, injections and control API."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import httpx
import pytest
from PIL import Image

from devenv.segmind_fake import FakeSegmind, JobScript, image_bytes

KEY = "fake-test-key"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fake() -> Iterator[FakeSegmind]:
    with FakeSegmind(api_keys=(KEY,), default_job=JobScript(queued_s=0.0, processing_s=0.0)) as f:
        yield f


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(headers={"x-api-key": KEY}, timeout=5.0) as client:
        yield client


def submit(http: httpx.Client, fake: FakeSegmind, text: str = "A post") -> httpx.Response:
    return http.post(fake.workflow_url, json={"Blog_title_and_description": text})


def test_status_progresses_over_time(fake: FakeSegmind, http: httpx.Client) -> None:
    fake.queue_jobs(JobScript(queued_s=0.15, processing_s=0.15, output_shape="list"))
    answer = submit(http, fake)
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "QUEUED" and set(body) >= {"poll_url", "request_id", "status"}
    assert body["poll_url"] == fake.poll_url(body["request_id"])

    first = http.get(body["poll_url"]).json()
    assert (first["status"], first["output"]) == ("QUEUED", "")
    time.sleep(0.2)
    second = http.get(body["poll_url"]).json()
    assert (second["status"], second["output"]) == ("PROCESSING", "")
    time.sleep(0.15)
    third = http.get(body["poll_url"]).json()
    assert third["status"] == "COMPLETED"
    assert isinstance(third["output"], str)
    (item,) = json.loads(third["output"])
    assert item["value"]["type"] == "image"
    url = item["value"]["data"]
    assert url == f"{fake.base_url}/files/{body['request_id']}.jpg"

    image = httpx.get(url)  # public storage: no key needed
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(image.content)) as decoded:
        assert (decoded.format, decoded.size) == ("JPEG", (1024, 576))
    assert fake.stats() == {"submissions": 1, "polls": 3, "downloads": 1, "credits": 999}


def test_object_shape_and_formats(fake: FakeSegmind, http: httpx.Client) -> None:
    formats: list[tuple[Literal["PNG", "WEBP"], str, str]] = [
        ("PNG", "png", "image/png"),
        ("WEBP", "webp", "image/webp"),
    ]
    for fmt, ext, mime in formats:
        fake.queue_jobs(
            JobScript(queued_s=0.0, processing_s=0.0, output_shape="object", image_format=fmt)
        )
        status = http.get(submit(http, fake).json()["poll_url"]).json()
        url = json.loads(status["output"])["image_output"]
        assert url.endswith(f".{ext}")
        image = httpx.get(url)
        assert image.headers["content-type"] == mime
        with Image.open(io.BytesIO(image.content)) as decoded:
            assert decoded.format == fmt


def test_images_are_cached_per_format() -> None:
    assert image_bytes("PNG") is image_bytes("png")
    assert image_bytes("JPEG")[:3] == b"\xff\xd8\xff"
    with pytest.raises(ValueError):
        image_bytes("GIF")


def test_failed_reason_and_expired_file(fake: FakeSegmind, http: httpx.Client) -> None:
    reason = [{"model": "flux", "error": "OOM"}]
    fake.queue_jobs(
        JobScript(
            queued_s=0.0,
            processing_s=0.0,
            outcome="failed",
            failure=reason,
            failure_field="error_message",
        ),
        JobScript(queued_s=0.0, processing_s=0.0, image_expired=True),
    )
    failed = http.get(submit(http, fake).json()["poll_url"]).json()
    assert failed["status"] == "FAILED" and failed["error_message"] == reason
    done = http.get(submit(http, fake).json()["poll_url"]).json()
    url = json.loads(done["output"])[0]["value"]["data"]
    assert httpx.get(url).status_code == 404


def test_auth_on_every_api_request(fake: FakeSegmind) -> None:
    body = {"Blog_title_and_description": "x"}
    missing = httpx.post(fake.workflow_url, json=body)
    assert (missing.status_code, missing.json()) == (401, {"error": "Invalid API key"})
    wrong = httpx.post(fake.workflow_url, json=body, headers={"x-api-key": "nope"})
    assert wrong.status_code == 401
    bearer = httpx.post(fake.workflow_url, json=body, headers={"Authorization": f"Bearer {KEY}"})
    assert bearer.status_code == 200
    assert fake.submissions[0]["auth"] == ["bearer"]
    assert httpx.get(bearer.json()["poll_url"]).status_code == 401


def test_not_found_and_bad_input(fake: FakeSegmind, http: httpx.Client) -> None:
    other = http.post(fake.workflow_url.replace("-v5", "-v4"), json={})
    assert (other.status_code, other.json()) == (404, {"error": "Workflow not found"})
    unknown = http.get(fake.poll_url("no-such-request"))
    assert (unknown.status_code, unknown.json()) == (404, {"error": "Request not found"})
    assert http.post(fake.workflow_url, json={"prompt": "x"}).status_code == 400


def test_credits_run_out() -> None:
    with FakeSegmind(api_keys=(KEY,), credits=2) as fake, httpx.Client() as http:
        headers = {"x-api-key": KEY}
        body = {"Blog_title_and_description": "x"}
        remaining = [
            http.post(fake.workflow_url, json=body, headers=headers).headers["x-remaining-credits"]
            for _ in range(2)
        ]
        assert remaining == ["1", "0"]
        broke = http.post(fake.workflow_url, json=body, headers=headers)
        assert (broke.status_code, broke.json()) == (406, {"error": "Insufficient credits"})
        assert len(fake.submissions) == 2


def test_injected_failures(fake: FakeSegmind, http: httpx.Client) -> None:
    fake.fail_next_submit(502, times=2)
    fake.fail_next_submit(429)
    for _ in range(2):
        answer = submit(http, fake)
        assert answer.status_code == 502
        assert answer.headers["content-type"].startswith("text/html")
        assert "<html>" in answer.text
    limited = submit(http, fake)
    assert limited.status_code == 429 and "x-rate-limit-reset-at-utc" in limited.headers
    assert limited.json() == {"error": "Rate limit exceeded"}
    poll_url = submit(http, fake).json()["poll_url"]
    fake.fail_next_poll(404)
    assert http.get(poll_url).json() == {"error": "Request not found"}
    assert http.get(poll_url).status_code == 200
    assert len(fake.submissions) == 1  # failed submissions are not recorded nor charged


def test_submissions_are_thread_safe(fake: FakeSegmind) -> None:
    def worker() -> None:
        with httpx.Client(headers={"x-api-key": KEY}) as client:
            for _ in range(5):
                assert submit(client, fake).status_code == 200

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = {item["request_id"] for item in fake.submissions}
    assert len(ids) == 20
    assert fake.stats()["credits"] == 980


def test_control_api(fake: FakeSegmind, http: httpx.Client) -> None:
    queued = httpx.post(
        f"{fake.base_url}/_fake/jobs",
        json=[JobScript(outcome="failed", failure="boom", queued_s=0, processing_s=0).to_dict()],
    )
    assert queued.json() == {"queued": 1}
    assert httpx.post(
        f"{fake.base_url}/_fake/fail", json={"phase": "submit", "status": 500}
    ).json() == {"ok": True}
    assert submit(http, fake).status_code == 500
    failed = http.get(submit(http, fake).json()["poll_url"]).json()
    assert (failed["status"], failed["error"]) == ("FAILED", "boom")
    stats = httpx.get(f"{fake.base_url}/_fake/stats").json()
    assert {k: stats[k] for k in ("submissions", "polls", "downloads")} == {
        "submissions": 1,
        "polls": 1,
        "downloads": 0,
    }
    bad_job = httpx.post(f"{fake.base_url}/_fake/jobs", json=[{"outcome": "maybe"}])
    assert bad_job.status_code == 400
    bad_field = httpx.post(f"{fake.base_url}/_fake/jobs", json=[{"colour": "red"}])
    assert bad_field.status_code == 400
    bad_fail = httpx.post(f"{fake.base_url}/_fake/fail", json={"phase": "download", "status": 500})
    assert bad_fail.status_code == 400
    assert httpx.post(f"{fake.base_url}/_fake/reset").status_code == 200
    assert fake.stats() == {"submissions": 0, "polls": 0, "downloads": 0, "credits": 1000}


def test_cli_runs_in_the_foreground() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "devenv.segmind_fake", "--port", str(port), "--queued-s", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        second = proc.stdout.readline().strip()
        assert (
            first
            == f"SEGMIND_WORKFLOW_URL=http://127.0.0.1:{port}/workflows/66b518aa31bd2081a8de2a98-v5"
        )
        assert second == "SEGMIND_API_KEY=test-key"
        stats = httpx.get(f"http://127.0.0.1:{port}/_fake/stats", timeout=5.0).json()
        assert stats["submissions"] == 0
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
