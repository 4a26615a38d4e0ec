"""Engine, sessions and migrations. Nothing is built at import."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, exc, text
from sqlalchemy.orm import Session, sessionmaker

from knowledge_base.errors import DataUnavailable
from knowledge_base.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def make_engine(settings: Settings) -> Engine:
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        # One pooled connection per API worker thread (anyio's pool has 40): a request
        # never waits for a connection while a thread is free. SQLite connections are cheap.
        engine = create_engine(url, connect_args={"timeout": 5}, pool_size=20, max_overflow=20)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
            cursor = dbapi_connection.cursor()
            # WAL lets the API read while an import writes; foreign keys are off by default in SQLite.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def aware(moment: datetime | None, like: datetime) -> datetime | None:
    """A stored timestamp as an aware datetime: SQLite gives them back naive (they were
    written in UTC), PostgreSQL aware."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=like.tzinfo)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision."""
    try:
        command.upgrade(alembic_config(engine), "head")
    except exc.OperationalError as error:
        raise DataUnavailable(f"database not usable ({engine.url.render_as_string()}): {error.orig}") from error


def check_connection(engine: Engine) -> None:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except exc.OperationalError as error:
        raise DataUnavailable(f"database not reachable: {error.orig}") from error
