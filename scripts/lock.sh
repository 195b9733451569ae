#!/usr/bin/env bash
# Regenerate the lock files that scripts/bootstrap.sh installs from, with a sha256 hash for every file:
#   requirements.lock         every dependency of `.[all]`, resolved for CPython 3.11 on x86-64 Linux, with the
#                             versions already in .venv preferred (so a re-lock changes only what must change)
#   requirements-nodeps.lock  packages installed without their declared dependencies (see bootstrap.sh)
# Needs `uv` (in the dev extra). Run after changing dependencies in pyproject.toml; tests/test_lock.py fails
# when a dependency named in pyproject.toml is missing from the lock.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-.venv/bin/uv}
PINS=$(mktemp)
trap 'rm -f "$PINS"' EXIT
# Pins from .venv, except packages installed from a local file (a lock must name what the index serves).
.venv/bin/python -m pip freeze --exclude-editable | grep -v " @ " > "$PINS"
COMMON=(--generate-hashes --find-links /opt/wheels --python-version 3.11.7
        --python-platform x86_64-manylinux_2_28 --no-header --quiet)
"$UV" pip compile pyproject.toml --extra all -c "$PINS" "${COMMON[@]}" -o requirements.lock
"$UV" pip compile scripts/nodeps.in --no-deps "${COMMON[@]}" -o requirements-nodeps.lock
echo "wrote requirements.lock ($(grep -c '^[A-Za-z]' requirements.lock) packages) and requirements-nodeps.lock"
