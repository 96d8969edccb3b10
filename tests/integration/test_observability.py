"""Observability of real bridge processes: JSON logs with ids and no secret, ``/metrics``,
``bridge jobs`` and ``bridge status``, after a run that goes wrong in every way it can
(a wrong webhook secret, a provider that refuses its key, WordPress refusing the bridge)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from devenv.bridge_process import BridgeProcesses
from devenv.posts import EditorSession
from devenv.segmind_fake import FakeSegmind
from devenv.wordpress import LocalWordPress
from tests.integration.conftest import bridge_env
from tests.signing import event, new_secret, signed

pytestmark = pytest.mark.wordpress

WRONG_PASSWORD = "wXyZ 1234 aBcD 5678 eFgH 9012"
METRICS_TOKEN = "metrics-token-" + "7" * 20


@dataclass
class Run:
    """Two bridges after the run: ``good`` serves the site, ``locked_out`` has a wrong
    WordPress password; the posts and jobs each ended with."""

    good: BridgeProcesses
    locked_out: BridgeProcesses
    secrets: list[str]
    done_post: int
    refused_key_post: int
    locked_out_job: str


def _json_env(site: LocalWordPress, segmind: FakeSegmind, **extra: str) -> dict[str, str]:
    return bridge_env(
        site,
        SEGMIND_API_KEY=segmind.api_key,
        SEGMIND_WORKFLOW_URL=segmind.workflow_url,
        SEGMIND_POLL_INTERVAL="0.1",
        SEGMIND_DEADLINE="30",
        BRIDGE_DOWNLOAD_ALLOW="127.0.0.1/32",
        BRIDGE_LOG_FORMAT="json",
        BRIDGE_LOG_LEVEL="DEBUG",
        BRIDGE_METRICS_TOKEN=METRICS_TOKEN,
        **extra,
    )


@pytest.fixture(scope="module")
def run(
    site: LocalWordPress, segmind: FakeSegmind, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Run]:
    env = _json_env(site, segmind)
    locked_env = _json_env(site, segmind, WP_APP_PASSWORD=WRONG_PASSWORD)
    good = BridgeProcesses(env, tmp_path_factory.mktemp("observed-bridge"))
    locked_out = BridgeProcesses(locked_env, tmp_path_factory.mktemp("locked-out-bridge"))
    with good, locked_out:  # each starts its web and worker processes
        segmind.reset()
        site.update_plugin_settings(bridge_url=good.url, enabled=True)
        editor = EditorSession(site)
        try:
            done_post = editor.create_post("Observed: a post that gets its image")
            assert editor.wait_for(done_post).generation == "done"
            segmind.fail_next_submit(401)
            refused_key_post = editor.create_post("Observed: Segmind refuses the key")
            assert editor.wait_for(refused_key_post).generation == "failed"
        finally:
            editor.close()
            segmind.reset()
        secret = env["BRIDGE_WEBHOOK_SECRET"]
        body, headers = signed(new_secret(), event(site_url=site.url))
        assert httpx.post(f"{good.url}/webhook", content=body, headers=headers).status_code == 401
        body, headers = signed(secret, event(post_id=done_post, site_url=site.url))
        answer = httpx.post(f"{locked_out.url}/webhook", content=body, headers=headers)
        assert answer.status_code == 202
        locked_out_job = answer.json()["job_id"]
        _wait_for_state(locked_out, locked_out_job, "failed")
        yield Run(
            good=good,
            locked_out=locked_out,
            secrets=_spellings(env, WRONG_PASSWORD),
            done_post=done_post,
            refused_key_post=refused_key_post,
            locked_out_job=locked_out_job,
        )


def _spellings(env: dict[str, str], wrong_password: str) -> list[str]:
    """Every form in which a configured secret could leak into a log."""
    secret = env["BRIDGE_WEBHOOK_SECRET"]
    found = [secret, secret.removeprefix("whsec_"), env["SEGMIND_API_KEY"], METRICS_TOKEN]
    for password in (env["WP_APP_PASSWORD"], wrong_password):
        basic = base64.b64encode(f"{env['WP_USER']}:{password}".encode()).decode()
        found += [password, password.replace(" ", ""), basic]
    return found


def _wait_for_state(bridge: BridgeProcesses, job_id: str, state: str) -> None:
    for _ in range(600):
        jobs = _cli(bridge, "jobs", "--json")
        if any(job["id"] == job_id and job["state"] == state for job in jobs):
            return
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never reached {state}")


def _cli(bridge: BridgeProcesses, *args: str, check: bool = True) -> Any:
    result = subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        env={**bridge.env, "BRIDGE_LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if "--json" in args else result


def _log_lines(bridge: BridgeProcesses) -> list[str]:
    lines: list[str] = []
    for role in ("web", "worker"):
        lines += (bridge.data_dir / f"{role}.log").read_text().splitlines()
    return [line for line in lines if line.strip()]


def test_no_secret_appears_in_any_log_line(run: Run) -> None:
    lines = _log_lines(run.good) + _log_lines(run.locked_out)
    assert len(lines) > 50  # DEBUG logs of both bridges, web and worker
    leaks = [(secret[:4], line) for line in lines for secret in run.secrets if secret in line]
    assert not leaks


def test_every_log_line_is_a_json_record(run: Run) -> None:
    for line in _log_lines(run.good) + _log_lines(run.locked_out):
        record = json.loads(line)
        assert {"time", "level", "logger", "message"} <= record.keys(), line


def test_worker_records_carry_the_site_post_and_job(run: Run, site: LocalWordPress) -> None:
    records = [json.loads(line) for line in _log_lines(run.good)]
    failed = [r for r in records if "failed" in r["message"] and r.get("job_id")]
    assert failed, "the refused key left no record of the failed job"
    assert {(r["site"], r["post_id"]) for r in failed} == {(site.url, run.refused_key_post)}
    queued = [r for r in records if r["logger"] == "bridge.api" and "queued" in r["message"]]
    assert {r["post_id"] for r in queued} >= {run.done_post, run.refused_key_post}


def test_the_wordpress_refusal_is_logged_for_its_job(run: Run) -> None:
    records = [json.loads(line) for line in _log_lines(run.locked_out)]
    mine = [r for r in records if r.get("job_id") == run.locked_out_job]
    assert any(
        r["level"] in ("INFO", "WARNING", "ERROR") and "failed" in r["message"] for r in mine
    )


def test_metrics_report_the_run(run: Run, site: LocalWordPress) -> None:
    assert httpx.get(f"{run.good.url}/metrics").status_code == 401
    response = httpx.get(
        f"{run.good.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert response.status_code == 200
    figures = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }

    def figure(name: str, **labels: str) -> float:
        return figures[(name, tuple(sorted(labels.items())))]

    assert figure("bridge_jobs", site=site.url, state="done") == 1
    assert figure("bridge_jobs", site=site.url, state="failed") == 1
    assert figure("bridge_failed_jobs", site=site.url, kind="auth") == 1
    assert figure("bridge_webhooks_accepted_total", site=site.url, outcome="created") == 2
    rejected = ("bridge_webhooks_rejected_total", "POST /webhook", "invalid_signature")
    assert figure(rejected[0], endpoint=rejected[1], reason=rejected[2]) == 1
    assert figure("bridge_provider_run_seconds_count", site=site.url, provider="segmind") == 1
    assert figure("bridge_provider_detection_delay_seconds_count", site=site.url) == 1
    assert figure("bridge_provider_remaining_credits", provider="segmind") > 0
    assert figure("bridge_workers_alive") == 1


def test_bridge_jobs_lists_and_filters(run: Run, site: LocalWordPress) -> None:
    jobs = _cli(run.good, "jobs", "--json")
    assert {(job["post_id"], job["state"]) for job in jobs} == {
        (run.done_post, "done"),
        (run.refused_key_post, "failed"),
    }
    failed = _cli(run.good, "jobs", "--json", "--state", "failed")
    assert [(job["post_id"], job["error_kind"]) for job in failed] == [
        (run.refused_key_post, "auth")
    ]
    assert _cli(run.good, "jobs", "--json", "--post", str(run.done_post))[0]["state"] == "done"
    assert _cli(run.good, "jobs", "--json", "--site", "http://elsewhere.example") == []
    table = _cli(run.good, "jobs").stdout
    assert "STATE" in table and run.locked_out_job not in table
    assert f"{run.refused_key_post}" in table


def test_bridge_status_says_what_runs_and_what_failed(run: Run) -> None:
    status = _cli(run.good, "status", "--json")
    assert status["web"]["alive"] and status["workers"]["alive"] == 1
    assert status["jobs_by_state"]["done"] == 1
    assert [error["kind"] for error in status["last_errors"]] == ["auth"]
    assert status["credits"]["segmind"]["remaining"] > 0
    text = _cli(run.good, "status").stdout
    assert "web:     alive" in text and "error:   auth" in text


def test_bridge_status_exits_1_when_nothing_runs(tmp_path: Path, run: Run) -> None:
    idle = BridgeProcesses(
        {k: v for k, v in run.good.env.items() if k.startswith(("BRIDGE_", "WP_", "SEGMIND_"))},
        tmp_path,
    )
    result = _cli(idle, "status", check=False)
    assert result.returncode == 1
    assert "web:     DOWN" in result.stdout and "workers: 0 alive" in result.stdout
    assert os.path.exists(tmp_path / "jobs.sqlite3")
