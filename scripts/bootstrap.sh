#!/usr/bin/env bash
# Installs what the demo and the tests need on Debian 12, as root: Debian's packages
# (WordPress, MariaDB, PHP, fonts), then a virtualenv in .venv with the bridge and its tools.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t packages < <(grep -v '^#' scripts/debian-packages.txt | grep -v '^$')
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if ! python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    missing+=(python3 python3-venv python3-pip)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo "Installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
mkdir -p var
if ! .venv/bin/python -m pip install -q -e '.[test]' >var/pip-install.log 2>&1; then
    cat var/pip-install.log >&2
    echo "bootstrap: pip install failed (log above, also in var/pip-install.log)" >&2
    exit 1
fi
