#!/usr/bin/env bash
# The whole loop: a local WordPress with the plugin, the bridge's web and worker processes,
# and a sample post that gets its featured image. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m devenv.demo "$@"
