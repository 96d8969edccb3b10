"""The machine's details for RESULTS.md: CPU, cores, RAM, Python, PHP, WordPress, date."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

WORDPRESS_VERSION_FILE = Path("/usr/share/wordpress/wp-includes/version.php")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _command_version(args: list[str]) -> str:
    if shutil.which(args[0]) is None:
        return "not installed"
    result = subprocess.run(args, capture_output=True, text=True, timeout=30)
    lines = (result.stdout or result.stderr).strip().splitlines()  # wrk --version exits 1
    return lines[0] if lines else "?"


def _wordpress_version() -> str:
    try:
        for line in WORDPRESS_VERSION_FILE.read_text().splitlines():
            if line.startswith("$wp_version"):
                return line.split("=", 1)[1].strip().strip(";").strip("'\"")
    except OSError:
        pass
    return "unknown"


def describe() -> list[tuple[str, str]]:
    return [
        ("Date (UTC)", datetime.now(UTC).strftime("%Y-%m-%d %H:%M")),
        ("CPU", _cpu_model()),
        ("Cores", str(os.cpu_count())),
        ("RAM", _ram()),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("PHP", _command_version(["php", "-r", "echo PHP_VERSION;"])),
        ("WordPress", _wordpress_version()),
        ("MariaDB", _command_version(["mariadbd", "--version"])),
        ("wrk", _command_version(["wrk", "--version"])),
    ]
