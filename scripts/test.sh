#!/usr/bin/env bash
# Install what is missing (same set-up as the product), then run the whole test suite.
# Extra arguments go to pytest. With CI=true a missing service fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/setup.sh
.venv/bin/pip install -q --disable-pip-version-check -r requirements/test.lock 2>&1 | { grep -v "^WARNING: Location .* is ignored" || true; }
echo "[test] set-up done in $(( $(date +%s) - start )) s"
t0=$(date +%s)
status=0
.venv/bin/python -m pytest --durations=15 "$@" || status=$?
echo "[test] pytest took $(( $(date +%s) - t0 )) s; total $(( $(date +%s) - start )) s"
exit $status
