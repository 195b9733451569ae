#!/usr/bin/env bash
# Set up a development environment from scratch: a virtual environment in .venv with every extra.
# Idempotent: re-running only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# Every dependency is pinned with its sha256 in requirements.lock (regenerate with scripts/lock.sh), so two
# installs get the same files. torch there is the CPU build that lies in /opt/wheels on this kind of machine
# (a plain `torch` from PyPI would be a multi-GB CUDA build). The lock is complete, hence --no-deps.
.venv/bin/python -m pip install --quiet --no-deps --require-hashes -r requirements.lock -r requirements-nodeps.lock
.venv/bin/python -m pip install --quiet --no-deps -e .
# Browser tests drive Debian's Chromium through Playwright (never `playwright install`, which downloads).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: /usr/bin/chromium is missing; install Debian's chromium package for the browser tests" >&2
  fi
fi
echo "environment ready: .venv (run .venv/bin/datatrainer --help)"
