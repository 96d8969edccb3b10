"""The production server settings: one set, used by ``bridge web`` and deploy/gunicorn.conf.py."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from bridge.config import ConfigError, Settings
from bridge.web_server import gunicorn_options

CONF = Path(__file__).resolve().parent.parent / "deploy" / "gunicorn.conf.py"


def _env(secret: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "BRIDGE_WEBHOOK_SECRET": secret,
        "WP_URL": "http://127.0.0.1:9",
        "WP_USER": "bridge",
        "WP_APP_PASSWORD": "x",
        "BRIDGE_DATA_DIR": str(tmp_path / "data"),
        **extra,
    }


def test_defaults_serve_on_loopback_with_two_processes_quietly(secret: str, tmp_path: Path) -> None:
    options = gunicorn_options(Settings.from_env(_env(secret, tmp_path)))
    assert options["bind"] == ["127.0.0.1:8080"]
    assert (options["worker_class"], options["workers"], options["threads"]) == ("gthread", 2, 16)
    assert options["accesslog"] is None
    assert options["control_socket"] == str((tmp_path / "data" / "gunicorn.ctl").absolute())
    assert options["control_socket_mode"] == 0o600
    assert options["timeout"] == 30


def test_a_webhook_job_is_on_disk_before_its_202_unless_told_otherwise(
    secret: str, tmp_path: Path
) -> None:
    assert Settings.from_env(_env(secret, tmp_path)).intake_sync == "full"
    normal = Settings.from_env(_env(secret, tmp_path, BRIDGE_INTAKE_SYNC="NORMAL"))
    assert normal.intake_sync == "normal"


def test_settings_from_the_environment_reach_gunicorn(secret: str, tmp_path: Path) -> None:
    env = _env(
        secret,
        tmp_path,
        BRIDGE_HOST="0.0.0.0",
        BRIDGE_PORT="9000",
        BRIDGE_WEB_PROCESSES="3",
        BRIDGE_WEB_THREADS="8",
        BRIDGE_WEB_TIMEOUT="45",
        BRIDGE_ACCESS_LOG="on",
        BRIDGE_CONTROL_SOCKET="off",
    )
    options = gunicorn_options(Settings.from_env(env))
    assert options["bind"] == ["0.0.0.0:9000"]
    assert (options["workers"], options["threads"], options["timeout"]) == (3, 8, 45)
    assert options["accesslog"] == "-"
    assert options["control_socket_disable"] is True


def test_the_deploy_config_file_holds_the_same_settings(
    secret: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(secret, tmp_path, BRIDGE_WEB_THREADS="24", BRIDGE_PORT="9100")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    conf = runpy.run_path(str(CONF))
    for name, value in gunicorn_options(Settings.from_env(env)).items():
        assert conf[name] == value, name


def test_the_deploy_config_file_refuses_an_invalid_setting(
    secret: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in _env(secret, tmp_path, BRIDGE_WEB_THREADS="many").items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="BRIDGE_WEB_THREADS"):
        runpy.run_path(str(CONF))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("BRIDGE_WEB_PROCESSES", "0"),
        ("BRIDGE_WEB_THREADS", "1000"),
        ("BRIDGE_WEB_TIMEOUT", "never"),
        ("BRIDGE_ACCESS_LOG", "loud"),
        ("BRIDGE_INTAKE_SYNC", "off"),
        ("BRIDGE_CONTROL_SOCKET", "/tmp/" + "x" * 120),
    ],
)
def test_bad_server_settings_are_refused_by_name(
    secret: str, tmp_path: Path, name: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env(_env(secret, tmp_path, **{name: value}))


def test_a_data_directory_too_deep_for_a_socket_runs_without_the_control_socket(
    secret: str, tmp_path: Path
) -> None:
    deep = tmp_path / ("d" * 100)
    settings = Settings.from_env({**_env(secret, tmp_path), "BRIDGE_DATA_DIR": str(deep)})
    assert settings.control_socket is None
    assert gunicorn_options(settings)["control_socket_disable"] is True
