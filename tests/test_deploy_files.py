"""The deployment files agree with the code, so they cannot drift apart unnoticed.

No Docker daemon runs here and no image can be pulled, so the Dockerfile and compose.yaml are
checked by reading them: every setting of ``bridge/config.py`` is wired through compose.yaml
and listed, with its real default, in both environment examples; every file the Dockerfile
copies exists and passes its ignore file; every service has a health check that runs.
"""

from __future__ import annotations

import ast
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bridge.config import Settings
from tests.signing import new_secret

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
BRIDGE_SERVICES = ("bridge-web", "bridge-worker")
_EXAMPLE_LINE = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")
SECRET = new_secret()


# --------------------------------------------------------------------------- readers


@dataclass(frozen=True)
class ConfigVariable:
    name: str
    required: bool


def config_variables() -> dict[str, ConfigVariable]:
    """Every environment variable bridge/config.py reads: ``reader.<kind>("NAME", ...)`` and
    ``env.get("NAME")``, with whether it is required."""
    tree = ast.parse((REPO / "bridge" / "config.py").read_text())
    found: dict[str, ConfigVariable] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        if not (isinstance(owner, ast.Name) and owner.id in ("reader", "env")):
            continue
        if not (node.args and isinstance(node.args[0], ast.Constant)):
            continue
        name = node.args[0].value
        if not isinstance(name, str) or not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
            continue
        required = node.func.attr == "required" or any(
            k.arg == "required" and isinstance(k.value, ast.Constant) and k.value.value is True
            for k in node.keywords
        )
        found[name] = ConfigVariable(name, required)
    return found


def example_lines(path: Path) -> dict[str, tuple[bool, str]]:
    """``NAME -> (commented, value)`` for ``NAME=value`` and ``# NAME=value`` lines."""
    lines: dict[str, tuple[bool, str]] = {}
    for line in path.read_text().splitlines():
        match = _EXAMPLE_LINE.match(line.strip())
        if match:
            assert match.group(2) not in lines, f"{path.name}: {match.group(2)} twice"
            lines[match.group(2)] = (match.group(1) is not None, match.group(3))
    return lines


def dockerfile_instructions() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` of deploy/Dockerfile, continuation lines joined."""
    text = (DEPLOY / "Dockerfile").read_text()
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        current = f"{current} {line}" if current else line
        if current.endswith("\\"):
            current = current[:-1].rstrip()
            continue
        logical.append(current)
        current = ""
    return [(ins.split(None, 1)[0].upper(), ins.split(None, 1)[1]) for ins in logical]


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (name, _) in enumerate(instructions) if name == "FROM")
    return instructions[last_from:]


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for name, args in final_stage():
        if name == "ENV":
            for item in shlex.split(args):
                key, _, value = item.partition("=")
                env[key] = value
    return env


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def valid_base(**extra: str) -> dict[str, str]:
    """The required settings with values the bridge accepts."""
    return {
        "BRIDGE_WEBHOOK_SECRET": SECRET,
        "WP_URL": "https://blog.example",
        "WP_USER": "bridge",
        "WP_APP_PASSWORD": "abcd efgh ijkl mnop qrst uvwx",
        **extra,
    }


# --------------------------------------------------------------------------- settings


def test_the_config_reader_is_understood() -> None:
    variables = config_variables()

    assert {"BRIDGE_WEBHOOK_SECRET", "WP_URL", "BRIDGE_CONFIG_FILE", "BRIDGE_PORT"} <= set(
        variables
    )
    assert {v.name for v in variables.values() if v.required} == {
        "BRIDGE_WEBHOOK_SECRET",
        "WP_URL",
        "WP_USER",
        "WP_APP_PASSWORD",
    }


@pytest.mark.parametrize("example", ["bridge.env.example", ".env.example"])
def test_each_environment_example_lists_every_setting(example: str) -> None:
    fixed_by_image = set(image_env()) if example == ".env.example" else set()
    listed = set(example_lines(DEPLOY / example))

    missing = set(config_variables()) - fixed_by_image - listed
    assert not missing, f"deploy/{example} does not list {sorted(missing)}"
    assert not (fixed_by_image & listed), "the image sets these; the example must not"


@pytest.mark.parametrize("example", ["bridge.env.example", ".env.example"])
def test_the_defaults_the_examples_show_are_the_real_defaults(example: str) -> None:
    variables = config_variables()
    defaults = Settings.from_env(valid_base())
    for name, (commented, value) in example_lines(DEPLOY / example).items():
        if not commented or name not in variables or not value:
            continue
        shown = Settings.from_env(valid_base(**{name: value}))
        assert shown == defaults, f"deploy/{example}: '# {name}={value}' is not the default"


@pytest.mark.parametrize("example", ["bridge.env.example", ".env.example"])
def test_the_examples_values_are_accepted_once_the_secret_is_filled_in(example: str) -> None:
    variables = config_variables()
    values = {
        name: value
        for name, (commented, value) in example_lines(DEPLOY / example).items()
        if not commented and name in variables
    }
    assert values["BRIDGE_WEBHOOK_SECRET"].startswith("whsec_paste")

    Settings.from_env({**values, "BRIDGE_WEBHOOK_SECRET": new_secret()})


def test_the_examples_hold_no_real_secret() -> None:
    for example in ("bridge.env.example", ".env.example"):
        lines = example_lines(DEPLOY / example)
        assert lines["WP_APP_PASSWORD"][1] == "xxxx xxxx xxxx xxxx xxxx xxxx"
        assert lines["SEGMIND_API_KEY"] == (True, "")


# --------------------------------------------------------------------------- compose.yaml


def test_both_bridge_services_get_every_setting_from_the_env_file() -> None:
    services = compose()["services"]
    variables = config_variables()
    expected = set(variables) - set(image_env())

    for service in BRIDGE_SERVICES:
        environment = services[service]["environment"]
        assert set(environment) == expected, service
        for name, value in environment.items():
            if variables[name].required:
                assert re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", value), f"{service}: {name}"
            else:
                assert value == f"${{{name}:-}}", f"{service}: {name}"


def test_every_variable_compose_reads_is_in_the_env_example() -> None:
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", (DEPLOY / "compose.yaml").read_text()))
    listed = set(example_lines(DEPLOY / ".env.example"))

    assert used - listed == set()
    assert {"WP_URL", "WORDPRESS_DB_PASSWORD", "BRIDGE_WEBHOOK_SECRET"} <= used


def test_the_stack_has_its_parts_and_each_has_a_health_check() -> None:
    services = compose()["services"]

    assert set(services) == {"db", "wordpress", "bridge-web", "bridge-worker", "redis"}
    for name, service in services.items():
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD" and len(test) > 1, name
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, name
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency]


@pytest.mark.parametrize(("service", "role"), [("bridge-web", "web"), ("bridge-worker", "worker")])
def test_each_bridge_role_runs_the_one_image_and_checks_its_own_health(
    service: str, role: str
) -> None:
    services = compose()["services"]
    spec = services[service]

    assert spec["command"] == [role]
    assert spec["healthcheck"]["test"] == ["CMD", "python", "-m", "bridge.healthcheck", role]
    assert spec["image"] == services["bridge-web"]["image"]
    assert spec["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
    assert (DEPLOY / spec["build"]["context"] / spec["build"]["dockerfile"]).is_file()
    # web and worker share the job database and the queue through one volume.
    assert spec["volumes"] == [f"bridge-data:{image_env()['BRIDGE_DATA_DIR']}"]


def test_the_wordpress_site_is_reached_at_wp_url_from_inside_the_network() -> None:
    wordpress = compose()["services"]["wordpress"]
    example = example_lines(DEPLOY / ".env.example")
    url = urlsplit(example["WP_URL"][1])

    assert url.hostname == example["WP_HOSTNAME"][1]
    assert wordpress["networks"]["default"]["aliases"][0].startswith("${WP_HOSTNAME:?")
    # The alias sends the bridge to the container's port, so WP_URL must name that port.
    assert (url.port or 80) == 80
    assert wordpress["ports"][0].endswith(":80:80")


def test_the_plugin_mount_points_at_the_plugin() -> None:
    volumes = compose()["services"]["wordpress"]["volumes"]
    mounts = [v for v in volumes if v.startswith("../")]

    assert len(mounts) == 1
    source, target, mode = mounts[0].split(":")
    assert (DEPLOY / source / "featured-image-bridge.php").is_file()
    assert target == "/var/www/html/wp-content/plugins/featured-image-bridge"
    assert mode == "ro"


# --------------------------------------------------------------------------- Dockerfile


def test_what_the_dockerfile_copies_exists_and_passes_its_ignore_file() -> None:
    allowed = {
        line.removeprefix("!").rstrip("/")
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    copies = [args for name, args in dockerfile_instructions() if name == "COPY"]
    local = [args for args in copies if not args.startswith("--from")]

    assert local
    for args in local:
        *sources, _target = shlex.split(args)
        for source in sources:
            assert (REPO / source).exists(), source
            assert source.rstrip("/") in allowed, f"{source} is left out of the build context"


def test_the_image_runs_the_bridge_command_as_a_non_root_user() -> None:
    stage = dict(final_stage())
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]

    assert stage["USER"] not in ("root", "0")
    assert stage["ENTRYPOINT"] == '["bridge"]'
    assert "bridge" in project["scripts"]
    assert stage["CMD"] == '["web"]'
    assert stage["HEALTHCHECK"].endswith('CMD ["python", "-m", "bridge.healthcheck"]')
    assert (REPO / "bridge" / "healthcheck.py").is_file()


def test_the_image_listens_and_keeps_its_data_where_its_settings_say() -> None:
    stage = dict(final_stage())
    env = image_env()

    assert stage["EXPOSE"] == env["BRIDGE_PORT"]
    assert stage["VOLUME"] == f'["{env["BRIDGE_DATA_DIR"]}"]'
    assert env["BRIDGE_HOST"] == "0.0.0.0"
    Settings.from_env(valid_base(**env))


def test_the_image_has_the_fonts_the_title_card_needs() -> None:
    wanted = [
        line.strip()
        for line in (REPO / "scripts" / "debian-packages.txt").read_text().splitlines()
        if line.startswith("fonts-")
    ]
    installs = " ".join(args for name, args in final_stage() if name == "RUN")

    assert wanted
    for package in wanted:
        assert re.search(rf"\b{re.escape(package)}\b", installs), package


def test_the_base_image_meets_requires_python() -> None:
    base = next(args for name, args in dockerfile_instructions() if name == "ARG")
    version = re.search(r"python:(\d+)\.(\d+)", base)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    minimum = re.fullmatch(r">=(\d+)\.(\d+)", project["requires-python"])

    assert version is not None and minimum is not None
    assert (int(version[1]), int(version[2])) >= (int(minimum[1]), int(minimum[2]))
