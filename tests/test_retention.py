"""Retention purge and deletion on request, in the product's database and in a Rasa
tracker store (a real SQLite database with Rasa's `events` table)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from knowledge_base import conversations as store
from knowledge_base import retention
from knowledge_base.bootstrap import open_store
from knowledge_base.errors import InvalidQuery
from knowledge_base.models import Conversation, Handover, Message
from knowledge_base.settings import Settings

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _conversation(session: Session, *, channel: str, days_ago: int, chat: str | None = None, offline: bool = False) -> str:
    when = NOW - timedelta(days=days_ago)
    conversation, _token = store.create_conversation(session=session, channel=channel, language="fi", now=when)
    conversation.external_ref = chat
    store.add_message(session=session, conversation=conversation, direction="in", author="user", text="hei", now=when)
    store.add_message(session=session, conversation=conversation, direction="out", author="bot", text="moi", now=when)
    if offline:
        handover = store.create_handover(session=session, conversation=conversation, reason="requested", summary={}, safety=False, now=when)
        handover.status = "offline"
    return conversation.id


@pytest.fixture()
def world(tmp_path: Path) -> tuple[sessionmaker[Session], Settings, str, dict[str, str]]:
    settings = Settings(state_dir=tmp_path, database_url=None, retention_anonymous_days=180, retention_identified_days=90)
    _engine, sessions = open_store(settings)
    with sessions() as session:
        ids = {
            "web_fresh": _conversation(session, channel="web", days_ago=100),
            "web_old": _conversation(session, channel="web", days_ago=200),
            "telegram_fresh": _conversation(session, channel="telegram", days_ago=30, chat="555"),
            "telegram_old": _conversation(session, channel="telegram", days_ago=100, chat="555"),
            "offline_old": _conversation(session, channel="web", days_ago=100, offline=True),
        }
        session.commit()
    tracker_url = f"sqlite:///{tmp_path / 'tracker.sqlite3'}"
    tracker = create_engine(tracker_url)
    with tracker.begin() as connection:
        connection.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255), data TEXT)"))
        for conversation_id in ids.values():
            for n in range(3):
                connection.execute(text("INSERT INTO events (sender_id, data) VALUES (:s, :d)"), {"s": conversation_id, "d": str(n)})
    tracker.dispose()
    return sessions, settings, tracker_url, ids


def _tracker_count(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM events")).scalar_one()
    engine.dispose()
    return int(count)


def test_purge_keeps_identified_conversations_shorter(world) -> None:  # type: ignore[no-untyped-def]
    sessions, settings, tracker_url, ids = world
    with sessions() as session:
        expired = set(retention.expired_conversations(session, settings=settings, now=NOW))
    assert expired == {ids["web_old"], ids["telegram_old"], ids["offline_old"]}


def test_dry_run_counts_and_deletes_nothing(world) -> None:  # type: ignore[no-untyped-def]
    sessions, settings, tracker_url, ids = world
    with sessions() as session:
        expired = retention.expired_conversations(session, settings=settings, now=NOW)
        report = retention.delete_conversations(session, expired, tracker_url=tracker_url, dry_run=True)
        session.commit()
    assert report.summary() == {"dry_run": True, "conversations": 3, "messages": 6, "handovers": 1, "tracker_events": 9}
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Conversation)) == 5
    assert _tracker_count(tracker_url) == 15


def test_purge_deletes_everywhere(world) -> None:  # type: ignore[no-untyped-def]
    sessions, settings, tracker_url, ids = world
    with sessions() as session:
        expired = retention.expired_conversations(session, settings=settings, now=NOW)
        retention.delete_conversations(session, expired, tracker_url=tracker_url, dry_run=False)
        session.commit()
    with sessions() as session:
        left = set(session.scalars(select(Conversation.id)))
        assert left == {ids["web_fresh"], ids["telegram_fresh"]}
        assert session.scalar(select(func.count()).select_from(Message)) == 4  # cascaded
        assert session.scalar(select(func.count()).select_from(Handover)) == 0
    assert _tracker_count(tracker_url) == 6


def test_forget_one_telegram_chat_or_one_conversation(world) -> None:  # type: ignore[no-untyped-def]
    sessions, settings, tracker_url, ids = world
    with sessions() as session:
        chat = retention.conversations_of(session, telegram_chat="555")
        assert set(chat) == {ids["telegram_fresh"], ids["telegram_old"]}
        assert retention.conversations_of(session, conversation_id=ids["web_fresh"]) == [ids["web_fresh"]]
        assert retention.conversations_of(session, conversation_id="no-such-id") == []
        with pytest.raises(InvalidQuery):
            retention.conversations_of(session)
        retention.delete_conversations(session, chat, tracker_url=tracker_url, dry_run=False)
        session.commit()
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Conversation).where(Conversation.channel == "telegram")) == 0
    assert _tracker_count(tracker_url) == 9


def test_cli_purge_dry_run(world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from knowledge_base.cli import main as cli
    from knowledge_base.settings import get_settings

    sessions, settings, _tracker_url, ids = world
    monkeypatch.setenv("OPASTIN_STATE_DIR", str(settings.state_dir))
    monkeypatch.setenv("OPASTIN_RETENTION_ANONYMOUS_DAYS", "150")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["privacy", "purge", "--dry-run"])
        forget = CliRunner().invoke(cli, ["privacy", "forget", "--conversation", ids["web_fresh"]])
    finally:
        get_settings.cache_clear()
    # The CLI uses the real clock; the seeded ages (30-200 days) are far from the limits (90, 150).
    assert result.exit_code == 0 and '"dry_run": true' in result.output and '"conversations": 3' in result.output
    assert forget.exit_code == 0 and '"conversations": 1' in forget.output
    with sessions() as session:
        assert session.get(Conversation, ids["web_fresh"]) is None
        assert session.scalar(select(func.count()).select_from(Conversation)) == 4
