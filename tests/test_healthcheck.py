"""The container health check (python -m bridge.healthcheck), run as Docker runs it: a process
whose exit code says healthy (0) or not (1), against a real ``bridge web``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bridge.config import Settings
from bridge.healthcheck import healthz_url, main, role_of
from bridge.jobs import JobStore
from devenv.bridge_process import BridgeProcesses, free_port


@pytest.fixture
def env(tmp_path: Path, secret: str) -> dict[str, str]:
    return {
        "BRIDGE_WEBHOOK_SECRET": secret,
        "WP_URL": "http://127.0.0.1:9",
        "WP_USER": "bridge",
        "WP_APP_PASSWORD": "abcd efgh ijkl mnop qrst uvwx",
        "BRIDGE_DATA_DIR": str(tmp_path / "data"),
        "BRIDGE_HOST": "127.0.0.1",
        "BRIDGE_PORT": str(free_port()),
    }


@pytest.fixture
def web(env: dict[str, str], tmp_path: Path) -> Iterator[BridgeProcesses]:
    bridge = BridgeProcesses(env, tmp_path / "data", port=int(env["BRIDGE_PORT"]))
    bridge.start(roles=("web",))
    yield bridge
    bridge.stop()


def healthcheck(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge.healthcheck", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_serving_web_side_is_healthy(web: BridgeProcesses, env: dict[str, str]) -> None:
    result = healthcheck(env, "web")

    assert (result.returncode, result.stderr) == (0, "")


def test_a_web_side_that_does_not_answer_is_unhealthy(env: dict[str, str]) -> None:
    result = healthcheck(env, "web")

    assert result.returncode == 1
    assert f"127.0.0.1:{env['BRIDGE_PORT']}/healthz did not answer" in result.stderr
    assert env["BRIDGE_WEBHOOK_SECRET"] not in result.stderr
    assert env["WP_APP_PASSWORD"] not in result.stderr


def test_the_worker_is_healthy_once_its_job_database_answers(env: dict[str, str]) -> None:
    before = healthcheck(env, "worker")
    JobStore(Path(env["BRIDGE_DATA_DIR"]) / "jobs.sqlite3")
    after = healthcheck(env, "worker")

    assert before.returncode == 1
    assert "no job database" in before.stderr
    assert (after.returncode, after.stderr) == (0, "")


def test_invalid_settings_are_reported_without_secrets(env: dict[str, str]) -> None:
    result = healthcheck({**env, "BRIDGE_PORT": "http"}, "web")

    assert result.returncode == 2
    assert "BRIDGE_PORT must be a whole number" in result.stderr
    assert env["BRIDGE_WEBHOOK_SECRET"] not in result.stderr


@pytest.mark.parametrize(
    ("cmdline", "role"),
    [
        (b"/usr/local/bin/python\0/usr/local/bin/bridge\0web\0", "web"),
        (b"/usr/local/bin/python\0/usr/local/bin/bridge\0worker\0", "worker"),
        (b"/bin/sh\0-c\0sleep 1\0", None),
    ],
)
def test_the_role_comes_from_the_main_process(cmdline: bytes, role: str | None) -> None:
    assert role_of(cmdline) == role


def test_without_an_argument_the_main_process_names_the_role(
    web: BridgeProcesses, env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cmdline = tmp_path / "cmdline"
    cmdline.write_bytes(b"python\0bridge\0web\0")
    assert main([], proc_cmdline=cmdline) == 0

    cmdline.write_bytes(b"sleep\0infinity\0")
    assert main([], proc_cmdline=cmdline) == 2


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:8080/healthz"),
        ("::", "http://[::1]:8080/healthz"),
        ("10.1.2.3", "http://10.1.2.3:8080/healthz"),
        ("bridge.internal", "http://bridge.internal:8080/healthz"),
    ],
)
def test_a_wildcard_address_is_checked_on_loopback(settings: Settings, host: str, url: str) -> None:
    assert healthz_url(replace(settings, host=host, port=8080)) == url
