"""Log records: text or JSON, with the site, post and job ids where known, never a secret."""

from __future__ import annotations

import io
import json
import logging
from dataclasses import replace

import pytest
from huey import MemoryHuey

from bridge import logcontext
from bridge.config import ConfigError, Settings
from bridge.jobs import JobStore, NewJob
from bridge.logs import REDACTED, configure_logging, make_handler
from bridge.task_context import TaskContext

log = logging.getLogger("bridge.test")


def records(settings: Settings, emit: object) -> list[str]:
    """The lines a handler of ``settings`` writes while ``emit()`` runs."""
    stream = io.StringIO()
    handler = make_handler(settings, stream)
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        assert callable(emit)
        emit()
    finally:
        log.removeHandler(handler)
    return stream.getvalue().splitlines()


def test_json_records_have_time_level_logger_message(settings: Settings) -> None:
    (line,) = records(replace(settings, log_format="json"), lambda: log.warning("disk %s", "low"))
    record = json.loads(line)
    assert record["level"] == "WARNING"
    assert record["logger"] == "bridge.test"
    assert record["message"] == "disk low"
    assert record["time"].endswith("+00:00")
    assert "job_id" not in record and "site" not in record


def test_json_records_carry_the_ids_bound_in_the_context(settings: Settings) -> None:
    def emit() -> None:
        with logcontext.scope(site="https://blog.example", post_id=42, job_id="abc"):
            log.info("working")
        log.info("after")

    inside, after = (
        json.loads(line) for line in records(replace(settings, log_format="json"), emit)
    )
    assert (inside["site"], inside["post_id"], inside["job_id"]) == (
        "https://blog.example",
        42,
        "abc",
    )
    assert "job_id" not in after


def test_text_records_end_with_the_ids(settings: Settings) -> None:
    def emit() -> None:
        with logcontext.scope(site="https://blog.example", post_id=42, job_id="abc"):
            log.info("working")

    (line,) = records(settings, emit)
    assert line.endswith("bridge.test: working [site=https://blog.example post=42 job=abc]")


def test_an_exception_is_one_json_record(settings: Settings) -> None:
    def emit() -> None:
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("it broke")

    (line,) = records(replace(settings, log_format="json"), emit)
    assert "ValueError: boom" in json.loads(line)["exception"]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_configured_secrets_are_redacted_in_messages_and_tracebacks(
    settings: Settings, log_format: str
) -> None:
    configured = replace(
        settings, log_format=log_format, segmind_api_key="sg_key_0123456789", metrics_token="t" * 20
    )
    password = configured.wp_app_password

    def emit() -> None:
        log.info("careless %s %s", configured.webhook_secret, password.replace(" ", ""))
        try:
            raise RuntimeError(f"key {configured.segmind_api_key} and {password}")
        except RuntimeError:
            log.exception("token %s", configured.metrics_token)

    text = "\n".join(records(configured, emit))
    for secret in (
        configured.webhook_secret,
        configured.webhook_secret.removeprefix("whsec_"),
        password,
        password.replace(" ", ""),
        "sg_key_0123456789",
        "t" * 20,
    ):
        assert secret not in text
    assert text.count(REDACTED) >= 5


def test_task_context_binds_the_job_of_each_task(settings: Settings) -> None:
    """The worker's tasks log with the site, post and job of the job they run."""
    store = JobStore(settings.jobs_db)
    job, _ = store.create(NewJob("w1", "https://blog.example", 7, "post", "Title", "", "title"))
    huey = MemoryHuey(immediate=True)
    TaskContext(settings.jobs_db).install(huey)
    seen: list[logcontext.LogContext] = []

    @huey.task()
    def run(job_id: str) -> None:
        seen.append(logcontext.current())

    with logcontext.scope(site="the caller's"):
        run(job.id)
        assert logcontext.current().site == "the caller's"  # restored after the task
    assert seen == [logcontext.LogContext("https://blog.example", 7, job.id)]


def test_configure_logging_sends_records_through_one_handler(settings: Settings) -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging(settings, first)
    configure_logging(replace(settings, log_format="json", log_level="WARNING"), second)
    logging.getLogger("bridge.anything").info("hidden")
    logging.getLogger("bridge.anything").warning("shown")
    assert first.getvalue() == ""  # replaced by the second call, not doubled
    (line,) = second.getvalue().splitlines()
    assert json.loads(line)["message"] == "shown"


def test_an_unknown_log_format_is_refused(settings: Settings) -> None:
    env = {
        "BRIDGE_WEBHOOK_SECRET": settings.webhook_secret,
        "WP_URL": "http://127.0.0.1:9",
        "WP_USER": "bridge",
        "WP_APP_PASSWORD": "x",
        "BRIDGE_LOG_FORMAT": "yaml",
    }
    with pytest.raises(ConfigError, match="BRIDGE_LOG_FORMAT must be one of text, json"):
        Settings.from_env(env)
