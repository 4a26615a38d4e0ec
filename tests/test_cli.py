"""`opastin` as a user runs it: a real process, real exit codes, no tracebacks."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge_base.language import SUPPORTED_LANGUAGES
from knowledge_base.settings import Settings

OPASTIN = str(Path(sys.executable).parent / "opastin")


def run(settings: Settings, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPASTIN_STATE_DIR": str(settings.state_dir)}
    env.pop("DATABASE_URL", None)
    return subprocess.run([OPASTIN, *args], capture_output=True, text=True, env=env, input=stdin, timeout=120)


@pytest.fixture(scope="module")
def imported(settings: Settings, sessions) -> Settings:  # type: ignore[no-untyped-def]
    return settings


def test_search_json_shape(imported: Settings) -> None:
    done = run(imported, "search", "I have big debts and cannot pay my loans", "--top", "3", "--json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["language"] == "en"
    assert len(payload["results"]) == 3
    assert set(payload["results"][0]) == {"id", "score", "name", "summary", "text_language", "url", "why", "eligibility"}
    assert "ptv-gd:9bed3c27-b1b2-4a67-9bef-8e022a4f8d3a" in [hit["id"] for hit in payload["results"]]


def test_search_human_output_and_filters(imported: Settings) -> None:
    done = run(imported, "search", "päivähoitopaikka lapselle", "--lang", "fi", "--age", "2", "--municipality", "Vantaalla")
    assert done.returncode == 0, done.stderr
    assert "1. " in done.stdout
    assert "Vantaa" in done.stdout  # the notice that local details exist only for Helsinki
    assert "hel-tpr:" not in done.stdout


def test_batch_reads_jsonl_and_keeps_qids(imported: Settings, tmp_path: Path) -> None:
    batch = tmp_path / "queries.jsonl"
    batch.write_text(
        json.dumps({"qid": "a", "query": "jag behöver dagvård för mitt barn"})
        + "\n"
        + json.dumps({"qid": "b", "query": "Kela", "lang": "ar"})
        + "\n",
        encoding="utf-8",
    )
    done = run(imported, "search", "--batch", str(batch), "--top", "2")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(line["qid"], line["language"]) for line in lines] == [("a", "sv"), ("b", "ar")]
    assert all(len(line["results"]) <= 2 for line in lines)


def test_malformed_batch_line_exits_2(imported: Settings, tmp_path: Path) -> None:
    batch = tmp_path / "bad.jsonl"
    batch.write_text('{"qid": "x"}\n', encoding="utf-8")
    done = run(imported, "search", "--batch", str(batch))
    assert done.returncode == 2
    assert "line 1" in done.stderr and "Traceback" not in done.stderr


def test_unknown_language_exits_2_naming_the_codes(imported: Settings) -> None:
    done = run(imported, "search", "hello", "--lang", "xx")
    assert done.returncode == 2
    assert all(code in done.stderr for code in SUPPORTED_LANGUAGES)


def test_too_long_query_exits_2(imported: Settings) -> None:
    done = run(imported, "search", "työ " * 1500, "--json")
    assert done.returncode == 2
    assert "4000" in done.stderr and "Traceback" not in done.stderr


def test_empty_query_gives_empty_results_with_a_message(imported: Settings) -> None:
    done = run(imported, "search", "   ", "--lang", "fi", "--json")
    assert done.returncode == 0
    payload = json.loads(done.stdout)
    assert payload["results"] == [] and payload["messages"]


def test_import_is_idempotent_from_the_cli(imported: Settings) -> None:
    done = run(imported, "kb", "import")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"created": 0, "updated": 0, "unchanged": 843, "source_changed": 0}


def test_locked_database_is_a_clear_error(imported: Settings, tmp_path: Path) -> None:
    locked_state = tmp_path / "state"
    locked_state.mkdir()
    source = sqlite3.connect(imported.state_dir / "opastin.sqlite3")
    target = sqlite3.connect(locked_state / "opastin.sqlite3")
    source.backup(target)
    source.close()
    target.execute("PRAGMA journal_mode=DELETE")
    target.execute("UPDATE services SET source_hash = 'stale'")  # make the import want to write
    target.commit()
    target.execute("BEGIN EXCLUSIVE")
    try:
        done = run(Settings(state_dir=locked_state), "kb", "import")
    finally:
        target.rollback()
        target.close()
    assert done.returncode == 1
    assert done.stderr.startswith("Error:") and "locked" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_data_file_is_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "OPASTIN_STATE_DIR": str(tmp_path / "state"), "OPASTIN_DATA_DIR": str(tmp_path / "nothing")}
    done = subprocess.run([OPASTIN, "kb", "import"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith("Error: cannot read") and "nothing/" in done.stderr
    assert "Traceback" not in done.stderr
