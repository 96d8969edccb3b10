"""The plugin zip (make plugin-zip): what wp-admin's upload form gets.

The browser test in tests/browser_install/ installs it into a real WordPress; these check its
contents and the version checks."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from devenv.plugin_zip import PluginZipError, build_plugin_zip, main, plugin_version

REPO = Path(__file__).resolve().parents[1]
PLUGIN = REPO / "wp-plugin"


@pytest.fixture
def plugin_copy(tmp_path: Path) -> Path:
    """wp-plugin/ copied, so a test can add development files or change versions."""
    copy = tmp_path / "wp-plugin"
    shutil.copytree(PLUGIN, copy)
    return copy


def _names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def test_the_zip_holds_the_plugin_in_one_top_level_folder(tmp_path: Path) -> None:
    path = build_plugin_zip(PLUGIN, tmp_path / "dist")

    version = plugin_version(PLUGIN)
    assert path == tmp_path / "dist" / f"featured-image-bridge-{version}.zip"
    names = _names(path)
    assert {name.split("/", 1)[0] for name in names} == {"featured-image-bridge"}
    shipped = {name.removeprefix("featured-image-bridge/") for name in names}
    expected = {
        p.relative_to(PLUGIN).as_posix()
        for p in PLUGIN.rglob("*")
        if p.is_file() and p.suffix in (".php", ".js", ".css", ".txt")
    }
    assert expected <= shipped
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        main_file = archive.read("featured-image-bridge/featured-image-bridge.php")
    assert main_file == (PLUGIN / "featured-image-bridge.php").read_bytes()


def test_the_version_comes_from_the_plugin_header(plugin_copy: Path, tmp_path: Path) -> None:
    for name in ("featured-image-bridge.php", "readme.txt"):
        path = plugin_copy / name
        text = path.read_text()
        old = plugin_version(PLUGIN)
        path.write_text(
            text.replace(f"Version:           {old}", "Version:           9.8.7")
            .replace(f"'FIB_VERSION', '{old}'", "'FIB_VERSION', '9.8.7'")
            .replace(f"Stable tag: {old}", "Stable tag: 9.8.7")
        )

    path = build_plugin_zip(plugin_copy, tmp_path / "dist")

    assert path.name == "featured-image-bridge-9.8.7.zip"


def test_development_files_stay_out(plugin_copy: Path, tmp_path: Path) -> None:
    (plugin_copy / "tests").mkdir()
    (plugin_copy / "tests" / "test-webhook.php").write_text("<?php\n")
    (plugin_copy / "includes" / "tests").mkdir()
    (plugin_copy / "includes" / "tests" / "bootstrap.php").write_text("<?php\n")
    (plugin_copy / "node_modules" / "x").mkdir(parents=True)
    (plugin_copy / "node_modules" / "x" / "index.js").write_text("")
    for name in ("phpunit.xml.dist", "phpcs.xml", ".gitignore", "composer.json", "debug.log"):
        (plugin_copy / name).write_text("")
    (plugin_copy / ".git").mkdir()
    (plugin_copy / ".git" / "HEAD").write_text("ref: refs/heads/main\n")

    names = _names(build_plugin_zip(plugin_copy, tmp_path / "dist"))

    clean = _names(build_plugin_zip(PLUGIN, tmp_path / "clean"))
    assert names == clean


def test_two_builds_give_the_same_bytes(tmp_path: Path) -> None:
    first = build_plugin_zip(PLUGIN, tmp_path / "one").read_bytes()
    second = build_plugin_zip(PLUGIN, tmp_path / "two").read_bytes()

    assert first == second


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (
            "featured-image-bridge.php",
            "'FIB_VERSION', '{v}'",
            "'FIB_VERSION', '0.0.1'",
            "FIB_VERSION",
        ),
        ("readme.txt", "Stable tag: {v}", "Stable tag: 0.0.1", "Stable tag"),
        ("featured-image-bridge.php", " * Version:           {v}\n", "", "Version:"),
    ],
)
def test_disagreeing_versions_stop_the_build(
    plugin_copy: Path, tmp_path: Path, file: str, old: str, new: str, message: str
) -> None:
    path = plugin_copy / file
    text = path.read_text()
    old = old.format(v=plugin_version(PLUGIN))
    assert old in text
    path.write_text(text.replace(old, new))

    with pytest.raises(PluginZipError, match=message):
        build_plugin_zip(plugin_copy, tmp_path / "dist")
    assert not (tmp_path / "dist").exists() or not list((tmp_path / "dist").iterdir())


def test_the_command_prints_the_path_or_the_problem(
    plugin_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--plugin-dir", str(PLUGIN), "--dist", str(tmp_path / "dist")]) == 0
    assert capsys.readouterr().out.strip().endswith(".zip")

    (plugin_copy / "featured-image-bridge.php").unlink()
    assert main(["--plugin-dir", str(plugin_copy), "--dist", str(tmp_path / "dist")]) == 1
    assert "cannot read" in capsys.readouterr().err
