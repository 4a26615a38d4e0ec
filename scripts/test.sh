#!/usr/bin/env bash
# Install what is missing (same set-up as the product), then run the whole test suite.
# Extra arguments go to pytest. With CI=true a missing service fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/setup.sh
# Test tools, and the optional sentence-transformers backend (torch from pip first, so
# that the CPU build is taken), skipped when their pins have not changed.
STAMPS=var/stamps
if [ "$(cat requirements/test.lock requirements/sentence-transformers.txt | sha256sum)" != "$(cat $STAMPS/test-extras 2>/dev/null)" ]; then
    quiet() { "$@" 2>&1 | { grep -v "^WARNING: Location .* is ignored" || true; }; return "${PIPESTATUS[0]}"; }
    quiet .venv/bin/pip install -q --disable-pip-version-check -r requirements/test.lock
    quiet .venv/bin/pip install -q --disable-pip-version-check torch==2.13.0
    quiet .venv/bin/pip install -q --disable-pip-version-check -r requirements/sentence-transformers.txt
    cat requirements/test.lock requirements/sentence-transformers.txt | sha256sum > $STAMPS/test-extras
    echo "[test] test tools and sentence-transformers extra installed in $(( $(date +%s) - start )) s"
fi
# axe-core for the widget's accessibility checks in Chromium, from the npm registry
# (only at set-up; nothing runs npm at run time). Skipped when this version is there.
AXE_VERSION=4.14.1
AXE_DIR=var/vendor/axe-core-$AXE_VERSION
if [ ! -s "$AXE_DIR/axe.min.js" ]; then
    mkdir -p "$AXE_DIR"
    ( cd var/vendor && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null \
      && tar xzf "axe-core-$AXE_VERSION.tgz" -C "axe-core-$AXE_VERSION" --strip-components=1 package/axe.min.js \
      && rm "axe-core-$AXE_VERSION.tgz" )
    echo "[test] axe-core $AXE_VERSION unpacked into $AXE_DIR"
fi
echo "[test] set-up done in $(( $(date +%s) - start )) s"
t0=$(date +%s)
status=0
.venv/bin/python -m pytest --durations=15 "$@" || status=$?
echo "[test] pytest took $(( $(date +%s) - t0 )) s; total $(( $(date +%s) - start )) s"
exit $status
