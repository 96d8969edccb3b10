#!/usr/bin/env bash
# Runs the benchmarks (python -m bench) after bootstrapping; arguments pass through
# (--quick, --only NAME ..., --output PATH). Writes bench/RESULTS.md unless --quick.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m bench "$@"
