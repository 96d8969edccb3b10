"""The systemd units in deploy/systemd: systemd accepts them, they agree with the environment
example and the install steps, and their commands start the bridge and stop it with the
unit's own stop signal, run here as systemd would run them (as processes, with that
environment). The ``@`` templates (one bridge per site) are checked as instance ``blog``."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from devenv.bridge_process import free_port
from tests.signing import new_secret

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
INSTALLED_BRIDGE = "/opt/featured-image-bridge/bin/bridge"
VENV_BRIDGE = Path(sys.executable).parent / "bridge"
INSTANCE = "blog"


def instance_name(path: Path) -> str:
    """``featured-image-bridge-web@blog.service`` for a template, the name itself otherwise."""
    return path.name.replace("@.service", f"@{INSTANCE}.service")


def expand(text: str, state_dir: Path) -> str:
    """The specifiers our units use: %i (the instance) and %S (/var/lib for system units)."""
    return text.replace("%i", INSTANCE).replace("%S", str(state_dir))


def command(exec_start: str, state_dir: Path) -> tuple[dict[str, str], list[str]]:
    """``(environment set on the command line, bridge arguments)`` of an ExecStart."""
    words = shlex.split(expand(exec_start, state_dir))
    assignments: dict[str, str] = {}
    if words[0] == "/usr/bin/env":
        words = words[1:]
        while "=" in words[0]:
            name, _, value = words.pop(0).partition("=")
            assignments[name] = value
    assert words[0] == INSTALLED_BRIDGE
    return assignments, words[1:]


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return parser


def env_file() -> dict[str, str]:
    """bridge.env.example as systemd reads it: NAME=value lines, comments skipped."""
    values: dict[str, str] = {}
    for line in (DEPLOY / "bridge.env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value
    return values


def test_there_is_a_unit_for_each_role() -> None:
    assert [p.name for p in UNITS] == [
        "featured-image-bridge-web.service",
        "featured-image-bridge-web@.service",
        "featured-image-bridge-worker.service",
        "featured-image-bridge-worker@.service",
    ]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    for path in UNITS:
        text = path.read_text().replace(INSTALLED_BRIDGE, str(VENV_BRIDGE))
        (tmp_path / instance_name(path)).write_text(text)

    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / instance_name(p)) for p in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_units_agree_with_the_install_steps_and_the_environment_file() -> None:
    readme = (DEPLOY / "README.md").read_text()
    header = (DEPLOY / "bridge.env.example").read_text().splitlines()[0]
    assert INSTALLED_BRIDGE.removesuffix("/bin/bridge") in readme
    for path in UNITS:
        service = unit(path)["Service"]
        assert f"--system --home /var/lib/featured-image-bridge {service['User']}" in readme
        if "@" in path.name:
            assert service["EnvironmentFile"] == "/etc/featured-image-bridge/%i.env"
            assert service["StateDirectory"] == "featured-image-bridge/%i"
            # The site's data directory is set by the unit, not by the site's file.
            assignments, _ = command(service["ExecStart"], Path("/var/lib"))
            assert assignments == {"BRIDGE_DATA_DIR": f"/var/lib/featured-image-bridge/{INSTANCE}"}
        else:
            assert header.startswith(f"# {service['EnvironmentFile']} ")
            assert service["EnvironmentFile"] in readme
            assert env_file()["BRIDGE_DATA_DIR"] == f"/var/lib/{service['StateDirectory']}"
            assert command(service["ExecStart"], Path("/var/lib"))[0] == {}


@pytest.mark.parametrize("path", UNITS, ids=[p.stem for p in UNITS])
def test_each_command_starts_the_bridge_and_stops_on_the_units_signal(
    path: Path, tmp_path: Path
) -> None:
    service = unit(path)["Service"]
    site_file = {**env_file(), "BRIDGE_DATA_DIR": str(tmp_path / "data")}
    assignments, arguments = command(service["ExecStart"], tmp_path / "state")
    role = arguments[0]
    env = {
        **os.environ,
        **site_file,
        "BRIDGE_WEBHOOK_SECRET": new_secret(),
        "BRIDGE_PORT": str(free_port()),
        **assignments,
    }
    stop_signal = getattr(signal, service.get("KillSignal", "SIGTERM"))
    stop_timeout = float(service.get("TimeoutStopSec", "90"))
    log = tmp_path / f"{role}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(VENV_BRIDGE), *arguments],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        healthy = _wait_until_healthy(role, env, process)
        assert healthy, log.read_text(errors="replace")[-3000:]

        os.killpg(process.pid, stop_signal)
        code = process.wait(timeout=stop_timeout)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    assert code == 0, log.read_text(errors="replace")[-3000:]
    assert (Path(env["BRIDGE_DATA_DIR"]) / "jobs.sqlite3").is_file()
    if assignments:
        assert not (tmp_path / "data").exists(), "the unit's data directory must win"


def _wait_until_healthy(role: str, env: dict[str, str], process: subprocess.Popen[bytes]) -> bool:
    """Runs the container health check until it passes; False if the process exits first or
    it never passes within 60 tries (about a minute)."""
    for _ in range(60):
        if process.poll() is not None:
            return False
        check = subprocess.run(
            [sys.executable, "-m", "bridge.healthcheck", role],
            env=env,
            capture_output=True,
            timeout=30,
        )
        if check.returncode == 0:
            return True
        try:
            process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            continue
    return False
