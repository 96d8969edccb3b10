#!/usr/bin/env bash
# Installs what the tests need, checks the code (ruff, mypy, php -l) and runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh

echo "== lint"
.venv/bin/ruff check bridge devenv tests bench
.venv/bin/ruff format --check bridge devenv tests bench
.venv/bin/mypy
find wp-plugin -name '*.php' -print0 | xargs -0 -n1 php -l >/dev/null

echo "== tests"
mkdir -p test-artifacts
exec .venv/bin/pytest "$@"
