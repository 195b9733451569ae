#!/usr/bin/env bash
# Run every check CI runs: lint, strict typing, and the whole test suite (SQLite and PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
export DATATRAINER_TEST_PG_URL="${DATATRAINER_TEST_PG_URL-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
if [ -n "$DATATRAINER_TEST_PG_URL" ]; then
  .venv/bin/python - <<'PY'
import os, sys
from sqlalchemy import create_engine, text
url = os.environ["DATATRAINER_TEST_PG_URL"]
try:
    with create_engine(url).connect() as c:
        c.execute(text("select 1"))
except Exception as exc:
    sys.exit(f"PostgreSQL expected at {url} but unreachable: {exc}\n"
             "(start it, or set DATATRAINER_TEST_PG_URL= to run without the PostgreSQL tests)")
PY
fi
.venv/bin/ruff check src tests benchmarks
.venv/bin/mypy src
.venv/bin/bandit --quiet --severity-level all -r src  # security lint; src/.bandit says what is skipped and why
# Two pytest-xdist workers, each pinned to one core (tests/conftest.py): most tests wait on subprocesses,
# databases and browsers, so two at a time finish sooner than one. DATATRAINER_TEST_WORKERS=0 runs serially.
.venv/bin/python -m pytest -n "${DATATRAINER_TEST_WORKERS:-2}" --dist loadgroup "$@"
