"""bot/stores/cached_sql.py, the tracker store the Rasa servers use, checked in the Rasa
venv against Rasa's own SQLTrackerStore on one SQLite file (tests/rasa_venv/)."""

from __future__ import annotations

import os
import subprocess

from knowledge_base.rasa_project import RASA_VENV, REPO_DIR

CHECKS = REPO_DIR / "tests" / "rasa_venv" / "check_cached_tracker_store.py"


def test_cached_tracker_store_reads_what_the_database_holds() -> None:
    result = subprocess.run(
        [str(RASA_VENV / "bin" / "python"), str(CHECKS)],
        cwd=REPO_DIR, env={**os.environ, "PYTHONPATH": str(REPO_DIR)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    passed = [line for line in result.stdout.splitlines() if line.startswith("ok ")]
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert len(passed) == 12 and result.stdout.rstrip().endswith("all checks passed"), result.stdout
