#!/usr/bin/env bash
# Install tagfeed with its test extras into .venv and run the whole test suite.
# This is the README's test command and what CI runs (.ci/run calls exactly this).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v "is ignored" || true
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]' 2>&1 | grep -v "is ignored" || true
exec .venv/bin/python -m pytest "$@"
