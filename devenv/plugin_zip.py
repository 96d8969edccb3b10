"""Builds the plugin zip that wp-admin's *Plugins → Add New → Upload Plugin* installs.

``python -m devenv.plugin_zip`` (or ``make plugin-zip``) writes
``dist/featured-image-bridge-<version>.zip``: one top-level ``featured-image-bridge/`` folder
holding ``wp-plugin/`` without tests and development files. The version is read from the main
file's ``Version:`` header, and the build refuses to run when ``FIB_VERSION`` or the readme's
``Stable tag`` says otherwise. The zip is reproducible: entries sorted, fixed timestamps and
modes, so the same sources give the same bytes.
"""

from __future__ import annotations

import argparse
import re
import sys
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ["PluginZipError", "build_plugin_zip", "plugin_files", "plugin_version"]

PLUGIN_SLUG = "featured-image-bridge"
REPO = Path(__file__).resolve().parent.parent
DEFAULT_PLUGIN_DIR = REPO / "wp-plugin"
DEFAULT_DIST_DIR = REPO / "dist"

#: Directories that are development-only, wherever they appear.
EXCLUDED_DIRS = frozenset({"tests", "test", "node_modules", "__pycache__", "bin"})
#: Files that are development-only (exact names, then shell-style patterns).
EXCLUDED_FILES = frozenset(
    {
        "composer.json",
        "composer.lock",
        "package.json",
        "package-lock.json",
        "Makefile",
    }
)
EXCLUDED_PATTERNS = ("phpunit.xml*", "phpcs.xml*", "*.log", "*~", "*.orig", "*.swp")
# WordPress reads plugin headers from the first 8 KiB of the main file.
_HEADER_BYTES = 8192
_FIXED_TIME = (2024, 1, 1, 0, 0, 0)


class PluginZipError(Exception):
    """The plugin cannot be packaged; the message says what to fix."""


def _header(text: str, name: str) -> str | None:
    match = re.search(rf"^[ \t/*#@]*{re.escape(name)}:[ \t]*(\S[^\r\n]*?)[ \t]*$", text, re.M)
    return match.group(1) if match else None


def plugin_version(plugin_dir: Path) -> str:
    """The ``Version:`` header of ``<plugin_dir>/featured-image-bridge.php``.

    Raises PluginZipError when the header is missing or when ``FIB_VERSION`` or readme.txt's
    ``Stable tag`` differ from it.
    """
    main_file = plugin_dir / f"{PLUGIN_SLUG}.php"
    try:
        source = main_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PluginZipError(f"cannot read {main_file}: {exc.strerror}") from exc
    version = _header(source[:_HEADER_BYTES], "Version")
    if version is None or not re.fullmatch(r"[0-9A-Za-z.+-]+", version):
        raise PluginZipError(f"{main_file} has no usable 'Version:' header")
    constant = re.search(r"define\(\s*'FIB_VERSION',\s*'([^']*)'\s*\)", source)
    if constant is not None and constant.group(1) != version:
        raise PluginZipError(
            f"{main_file}: FIB_VERSION is {constant.group(1)!r} but the header says {version!r}"
        )
    readme = plugin_dir / "readme.txt"
    if readme.is_file():
        stable = _header(readme.read_text(encoding="utf-8"), "Stable tag")
        if stable is not None and stable != version:
            raise PluginZipError(
                f"{readme}: 'Stable tag' is {stable!r} but the plugin header says {version!r}"
            )
    return version


def _excluded(path: Path) -> bool:
    if path.name.startswith("."):
        return True
    if path.is_dir():
        return path.name in EXCLUDED_DIRS
    return path.name in EXCLUDED_FILES or any(path.match(p) for p in EXCLUDED_PATTERNS)


def plugin_files(plugin_dir: Path) -> Iterator[Path]:
    """The files that ship, relative to ``plugin_dir``, sorted."""

    def walk(directory: Path) -> Iterator[Path]:
        for entry in sorted(directory.iterdir()):
            if _excluded(entry):
                continue
            if entry.is_dir():
                yield from walk(entry)
            elif entry.is_file():
                yield entry.relative_to(plugin_dir)

    yield from walk(plugin_dir)


def build_plugin_zip(
    plugin_dir: Path = DEFAULT_PLUGIN_DIR, dist_dir: Path = DEFAULT_DIST_DIR
) -> Path:
    """Writes ``<dist_dir>/featured-image-bridge-<version>.zip`` and returns its path."""
    plugin_dir = plugin_dir.resolve()
    version = plugin_version(plugin_dir)
    files = list(plugin_files(plugin_dir))
    dist_dir.mkdir(parents=True, exist_ok=True)
    target = dist_dir / f"{PLUGIN_SLUG}-{version}.zip"
    partial = target.with_suffix(".zip.partial")
    directories = sorted({parent for f in files for parent in f.parents if parent != Path(".")})
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        root = zipfile.ZipInfo(f"{PLUGIN_SLUG}/", _FIXED_TIME)
        root.external_attr = (0o40755 << 16) | 0x10
        archive.writestr(root, b"")
        for directory in directories:
            info = zipfile.ZipInfo(f"{PLUGIN_SLUG}/{directory.as_posix()}/", _FIXED_TIME)
            info.external_attr = (0o40755 << 16) | 0x10
            archive.writestr(info, b"")
        for relative in files:
            info = zipfile.ZipInfo(f"{PLUGIN_SLUG}/{relative.as_posix()}", _FIXED_TIME)
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (plugin_dir / relative).read_bytes())
    partial.replace(target)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m devenv.plugin_zip``: build the zip and print its path."""
    parser = argparse.ArgumentParser(prog="python -m devenv.plugin_zip", description=__doc__)
    parser.add_argument("--plugin-dir", type=Path, default=DEFAULT_PLUGIN_DIR)
    parser.add_argument("--dist", type=Path, default=DEFAULT_DIST_DIR, help="output directory")
    args = parser.parse_args(argv)
    try:
        path = build_plugin_zip(args.plugin_dir, args.dist)
    except PluginZipError as exc:
        print(f"plugin-zip: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
