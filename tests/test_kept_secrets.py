from __future__ import annotations

import stat
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from knowledge_base.kept_secrets import kept_secret


def test_a_configured_secret_wins_and_nothing_is_written(tmp_path: Path) -> None:
    assert kept_secret("from-settings", tmp_path / "key") == "from-settings"
    assert not (tmp_path / "key").exists()


def test_workers_starting_at_once_agree_on_one_secret(tmp_path: Path) -> None:
    path = tmp_path / "state" / "key"
    with ProcessPoolExecutor(max_workers=8) as pool:
        made = set(pool.map(kept_secret, [""] * 32, [path] * 32))
    assert len(made) == 1 and len(made.pop()) >= 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["key"]  # no drafts left behind
