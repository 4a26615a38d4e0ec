"""Channel pieces without servers: Telegram HTML rendering, the flood gate, leases and
the outbox's retry rules, on the real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from api.telegram import FloodGate
from tests.test_telegram import collect_stray_connections
from api.telegram_format import MAX_CHARS, parse_callback, to_telegram
from knowledge_base import conversations as store
from knowledge_base import leases, outbox
from knowledge_base.bootstrap import open_store
from knowledge_base.i18n import Catalogue
from knowledge_base.errors import NotFound
from knowledge_base.organisations import seed_organisations
from knowledge_base.models import Handover, Message, OutboxItem
from knowledge_base.settings import Settings
from knowledge_base.telegram_chats import open_conversation

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[sessionmaker[Session]]:  # type: ignore[no-untyped-def]
    url = None if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    engine, sessions = open_store(Settings(state_dir=tmp_path, database_url=url))
    yield sessions
    engine.dispose()
    collect_stray_connections()


def _acquire(session: Session, holder: str, now: datetime) -> bool:
    held = leases.acquire_lease(session=session, name="telegram", holder=holder, now=now, ttl=timedelta(seconds=20))
    session.commit()
    return held


def test_html_is_escaped_everywhere_and_cards_are_formatted() -> None:
    catalogue = Catalogue.load()
    card = {
        "name": "Työ & <Osaaminen>",
        "why": ["ikä 18–29 <ok>"],
        "url": 'https://example.fi/a?b=1&c="x"',
        "contact": {"phone": "09 <310> 12345", "address": "Katu 1 & 2"},
    }
    rendered = to_telegram(
        message_id=7,
        text="Hei <b>sinä</b> & muut",
        payload={"services": [card, {"name": "Evil", "url": "javascript:alert(1)"}], "buttons": [{"title": "Kyllä", "payload": "/affirm"}]},
        messages=catalogue,
        language="fi",
    )
    assert rendered.html.startswith("Hei &lt;b&gt;sinä&lt;/b&gt; &amp; muut\n\n<b>Työ &amp; &lt;Osaaminen&gt;</b>")
    assert "• ikä 18–29 &lt;ok&gt;" in rendered.html
    assert catalogue.text("bot.contact_phone", "fi", phone="09 &lt;310&gt; 12345") in rendered.html
    assert '<a href="https://example.fi/a?b=1&amp;c=&quot;x&quot;">' in rendered.html
    assert "javascript:" not in rendered.html
    assert rendered.keyboard == [[("Kyllä", "b:7:0")]]
    assert parse_callback("b:7:0") == (7, 0) and parse_callback("b:x:0") is None and parse_callback("/affirm") is None


def test_long_texts_are_cut_to_telegrams_limit() -> None:
    rendered = to_telegram(message_id=1, text="rivi\n" * 2000, payload={}, messages=Catalogue.load(), language="fi")
    assert len(rendered.html) <= MAX_CHARS


def test_flood_gate_allows_the_limit_per_window_and_warns_once() -> None:
    now = [0.0]
    gate = FloodGate(3, 10.0, clock=lambda: now[0])
    assert [gate.allow("a") for _ in range(5)] == [True, True, True, False, False]
    assert gate.allow("b")
    assert gate.should_warn("a") and not gate.should_warn("a")
    now[0] = 10.5
    assert gate.allow("a")


def test_only_one_holder_has_a_lease_until_it_lapses(db: sessionmaker[Session]) -> None:
    with db() as session:
        assert _acquire(session, "w1", NOW)
        assert not _acquire(session, "w2", NOW + timedelta(seconds=5))
        assert _acquire(session, "w1", NOW + timedelta(seconds=10))
        assert not _acquire(session, "w2", NOW + timedelta(seconds=25))
        # w1 stopped renewing: w2 takes over once the lease lapses.
        assert _acquire(session, "w2", NOW + timedelta(seconds=31))
        assert not _acquire(session, "w1", NOW + timedelta(seconds=32))
        leases.release(session=session, name="telegram", holder="w2", now=NOW + timedelta(seconds=33))
        session.commit()
        assert _acquire(session, "w1", NOW + timedelta(seconds=34))


def _chat_with_messages(session: Session, chat: str, texts: list[str]) -> None:
    conversation, created = open_conversation(session=session, chat_ref=chat, token="t", language="fi", now=NOW)
    assert created
    for text in texts:
        store.add_message(session=session, conversation=conversation, direction="out", author="bot", text=text, now=NOW)
    store.add_message(session=session, conversation=conversation, direction="in", author="user", text="in", now=NOW)


def test_outbox_collects_outbound_only_keeps_order_per_chat_and_parks_dead_letters(db: sessionmaker[Session]) -> None:
    with db() as session:
        _chat_with_messages(session, "100", ["a1", "a2"])
        _chat_with_messages(session, "200", ["b1"])
        web, _ = store.create_conversation(session=session, channel="web", language="fi", now=NOW)
        store.add_message(session=session, conversation=web, direction="out", author="bot", text="web", now=NOW)
        assert outbox.collect(session=session, channel="telegram", now=NOW) == 3
        assert outbox.collect(session=session, channel="telegram", now=NOW) == 0
        first = outbox.due(session=session, channel="telegram", now=NOW)
        assert [(i.chat_ref, i.status) for i in first] == [("100", "pending"), ("200", "pending")]
        a1, b1 = first
        # a1 hit a rate limit: a2 must wait behind it, b1's chat is not held up.
        outbox.mark_failed(item=a1, error="RetryAfter", now=NOW, retry_in=timedelta(seconds=3), max_attempts=3)
        outbox.mark_sent(item=b1, now=NOW)
        session.flush()
        assert outbox.due(session=session, channel="telegram", now=NOW + timedelta(seconds=1)) == []
        again = outbox.due(session=session, channel="telegram", now=NOW + timedelta(seconds=4))
        assert [i.id for i in again] == [a1.id]
        outbox.mark_failed(item=a1, error="NetworkError: Bad Gateway", now=NOW, retry_in=timedelta(seconds=1), max_attempts=3)
        outbox.mark_failed(item=a1, error="NetworkError: Bad Gateway", now=NOW, retry_in=timedelta(seconds=1), max_attempts=3)
        assert (a1.status, a1.attempts) == ("dead", 3)
        session.flush()
        # The dead letter no longer blocks its chat; a2 goes next.
        later = outbox.due(session=session, channel="telegram", now=NOW + timedelta(seconds=10))
        assert len(later) == 1 and session.get(OutboxItem, later[0].id).chat_ref == "100" and later[0].id != a1.id
        letters = outbox.dead_letters(session=session, organisations=None)  # a platform admin
        assert [(d.text, d.attempts, d.last_error) for d in letters] == [("a1", 3, "NetworkError: Bad Gateway")]
        # Counsellors see the dead letters of the conversations their organisation handles only.
        assert outbox.dead_letters(session=session, organisations=frozenset({"te"})) == []
        conversation_id = session.get(Message, a1.message_id).conversation_id
        seed_organisations(session=session, data_dir=Settings().data_dir)
        session.add(Handover(conversation_id=conversation_id, reason="requested", language="fi", status="assigned",
                             organisation_id="te", created_at=NOW, updated_at=NOW))  # fmt: skip
        session.flush()
        assert [d.text for d in outbox.dead_letters(session=session, organisations=frozenset({"te"}))] == ["a1"]
        assert outbox.dead_letters(session=session, organisations=frozenset({"ohjaamo"})) == []
        with pytest.raises(NotFound):
            outbox.retry_dead(session=session, item_id=a1.id, organisations=frozenset({"ohjaamo"}), now=NOW)
        outbox.retry_dead(session=session, item_id=a1.id, organisations=frozenset({"te"}), now=NOW)
        assert (a1.status, a1.attempts) == ("pending", 0)


def test_a_refusal_is_parked_at_once(db: sessionmaker[Session]) -> None:
    with db() as session:
        _chat_with_messages(session, "300", ["x"])
        outbox.collect(session=session, channel="telegram", now=NOW)
        (item,) = outbox.due(session=session, channel="telegram", now=NOW)
        outbox.mark_failed(item=item, error="Forbidden: bot was blocked by the user", now=NOW, retry_in=None, max_attempts=5)
        assert (item.status, item.attempts) == ("dead", 1)


def test_a_chat_keeps_one_open_conversation(db: sessionmaker[Session]) -> None:
    with db() as session:
        first, created = open_conversation(session=session, chat_ref="55", token="t1", language="sv", now=NOW)
        again, created_again = open_conversation(session=session, chat_ref="55", token="t2", language="fi", now=NOW)
        assert created and not created_again and again.id == first.id and again.language == "sv"
        assert store.authenticate(session=session, conversation_id=first.id, token="t2") is first
        first.state = "closed"
        newer, created_newer = open_conversation(session=session, chat_ref="55", token="t2", language="fi", now=NOW)
        assert created_newer and newer.id != first.id and newer.channel == "telegram" and newer.external_ref == "55"
