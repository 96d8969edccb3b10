"""``bridge jobs`` and ``bridge status`` on a job database with no bridge running."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from bridge.cli import main
from bridge.config import Settings
from bridge.events import metrics_store
from bridge.jobs import JobState, JobStore, NewJob
from bridge.recorders import CREDITS

SITE = "http://127.0.0.1:9"


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The bridge command reads the same settings as the ``settings`` fixture (and its log
    handler is taken off the root logger afterwards)."""
    for name, value in {
        "BRIDGE_WEBHOOK_SECRET": settings.webhook_secret,
        "WP_URL": settings.wp_url,
        "WP_USER": settings.wp_user,
        "WP_APP_PASSWORD": settings.wp_app_password,
        "BRIDGE_DATA_DIR": str(settings.data_dir),
        "BRIDGE_PORT": "9",  # nothing listens there: the web side is down
        "BRIDGE_LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield settings
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def jobs(env: Settings) -> dict[int, str]:
    """Three posts' jobs: one done, one failed (auth), one queued; post id → job id."""
    store = JobStore(env.jobs_db)
    made: dict[int, str] = {}
    for post_id in (1, 2, 3):
        job, _ = store.create(NewJob(f"w{post_id}", SITE, post_id, "post", "T", "", "t"))
        made[post_id] = job.id
    store.update(made[1], state=JobState.DONE)
    store.update(
        made[2],
        state=JobState.FAILED,
        error="Image provider: the key was refused",
        error_kind="auth",
    )
    return made


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def test_jobs_lists_newest_first_and_filters(
    jobs: dict[int, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run(capsys, "jobs", "--json")
    assert code == 0
    listed = json.loads(out)
    assert [job["id"] for job in listed] == [jobs[2], jobs[1], jobs[3]]
    assert {job["site_url"] for job in listed} == {SITE}

    _, out = run(capsys, "jobs", "--json", "--state", "failed")
    assert [(job["post_id"], job["error_kind"]) for job in json.loads(out)] == [(2, "auth")]
    _, out = run(capsys, "jobs", "--json", "--post", "3", "--site", SITE + "/")
    assert [job["state"] for job in json.loads(out)] == ["queued"]
    _, out = run(capsys, "jobs", "--json", "--limit", "1")
    assert len(json.loads(out)) == 1


def test_jobs_prints_a_table(jobs: dict[int, str], capsys: pytest.CaptureFixture[str]) -> None:
    _, out = run(capsys, "jobs")
    header, *rows = out.splitlines()
    assert header.split() == ["JOB", "UPDATED", "(UTC)", "STATE", "POST", "SITE", "TRIES", "ERROR"]
    assert len(rows) == 3
    assert jobs[2] in rows[0] and "the key was refused" in rows[0]


def test_jobs_on_an_empty_database(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "jobs") == (0, "no jobs\n")


def test_status_reports_jobs_errors_credits_and_what_is_down(
    env: Settings, jobs: dict[int, str], capsys: pytest.CaptureFixture[str]
) -> None:
    metrics_store(env.jobs_db).set_gauge(CREDITS, {"provider": "segmind"}, 812)
    code, out = run(capsys, "status", "--json")
    assert code == 1  # no web side, no worker
    status = json.loads(out)
    assert status["web"]["alive"] is False and status["workers"]["alive"] == 0
    assert status["queue"]["queued_jobs_by_site"] == {SITE: 1}
    assert status["queue"]["pending_tasks"] == 0  # recorded here, never enqueued
    assert (status["jobs_by_state"]["done"], status["jobs_by_state"]["failed"]) == (1, 1)
    (error,) = status["last_errors"]
    assert (error["kind"], error["job_id"], error["post_id"]) == ("auth", jobs[2], 2)
    assert status["credits"]["segmind"]["remaining"] == 812

    metrics_store(env.jobs_db).heartbeat("host:1")
    code, out = run(capsys, "status")
    assert code == 1  # the web side is still down
    assert "workers: 1 alive" in out
    assert "credits: 812 left at segmind" in out
    assert "error:   auth:" in out and "the key was refused" in out
