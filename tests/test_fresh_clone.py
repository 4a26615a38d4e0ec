"""A fresh clone answers `opastin search` from the shipped vectors, encoding nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from knowledge_base.settings import REPO_DIR

OPASTIN = str(Path(sys.executable).parent / "opastin")


def test_fresh_clone_searches_without_encoding_the_catalogue(tmp_path: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_DIR, capture_output=True, text=True, check=True,
    ).stdout.split("\0")
    clone = tmp_path / "clone"
    for name in filter(None, files):
        source = REPO_DIR / name
        if source.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, clone / name)
    state = tmp_path / "state"
    env = {**os.environ, "PYTHONPATH": str(clone), "OPASTIN_STATE_DIR": str(state)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [OPASTIN, "search", "olen 20-vuotias enkä tiedä mitä opiskelisin", "--json"],
        cwd=clone, capture_output=True, text=True, env=env, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["results"]
    assert "encoding passages" not in done.stderr
    assert not (state / "vectors").exists()  # nothing was encoded on this machine
    # The clone's own code answered, not the checkout the venv was installed from.
    check = subprocess.run(
        [sys.executable, "-c", "import knowledge_base; print(knowledge_base.__file__)"],
        env=env, cwd=tmp_path, capture_output=True, text=True, check=True,
    )
    assert check.stdout.startswith(str(clone))
