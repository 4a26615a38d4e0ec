"""The shared counsellor queue (knowledge_base/queue.py) on a real, fresh database per
test: routing, taking (race-safe on SQLite and PostgreSQL), transfer, closing, timers,
opening hours, queue position and wait estimate."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from knowledge_base import conversations as store
from knowledge_base import counsellors, leases, queue, queue_console
from knowledge_base.db import make_engine, make_sessionmaker, migrate
from knowledge_base.errors import Conflict, InvalidQuery, NotAllowed
from knowledge_base.models import Conversation, Handover, Message
from knowledge_base.organisations import is_open, load_organisations, seed_organisations
from knowledge_base.settings import PACKAGE_DIR, Settings
from tests.queue_factories import CLOSED_NOW, OPEN_NOW, later, staff, ticket

CONFIG = queue.QueueConfig(data_dir=PACKAGE_DIR / "data")
MANUAL = queue.QueueConfig(data_dir=PACKAGE_DIR / "data", auto_assign=False)


def _fresh(settings: Settings) -> sessionmaker[Session]:
    engine = make_engine(settings)
    migrate(engine)
    made = make_sessionmaker(engine)
    with made() as session:
        seed_organisations(session=session, data_dir=PACKAGE_DIR / "data")
        session.commit()
    return made


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    made = _fresh(Settings(state_dir=tmp_path, database_url=None))
    yield made
    made.kw["bind"].dispose()


def _messages(session: Session, conversation_id: str) -> list[Message]:
    return list(session.scalars(select(Message).where(Message.conversation_id == conversation_id).order_by(Message.seq)))


# -- opening hours -------------------------------------------------------------------


def test_opening_hours_weekdays_evenings_and_holidays() -> None:
    te = next(o for o in load_organisations(PACKAGE_DIR / "data") if o["id"] == "te")
    assert is_open(te["hours"], OPEN_NOW)
    assert not is_open(te["hours"], CLOSED_NOW)
    assert not is_open(te["hours"], datetime(2026, 11, 28, 10, 0, tzinfo=UTC))  # Saturday
    assert not is_open(te["hours"], datetime(2026, 12, 24, 9, 0, tzinfo=UTC))  # Christmas Eve, a Thursday
    assert is_open({}, CLOSED_NOW)  # no hours: always open


def test_seeded_organisations(db: sessionmaker[Session]) -> None:
    from knowledge_base.models import Organisation

    with db() as session:
        rows = {o.id: o for o in session.scalars(select(Organisation))}
    assert {"te", "ohjaamo", "integration", "schools", "helsinki", "suomi-fi"} <= set(rows)
    assert rows["ohjaamo"].participating and not rows["suomi-fi"].participating
    assert "2026-12-24" in rows["te"].hours["holidays"]


# -- routing -------------------------------------------------------------------------


def test_routing_prefers_language_then_topic_then_municipality_then_least_loaded(db: sessionmaker[Session]) -> None:
    with db() as session:
        english = staff(session, [("te", "counsellor")], languages=["en"], online=True)
        general = staff(session, [("te", "counsellor")], languages=["fi"], online=True)
        work = staff(session, [("ohjaamo", "counsellor")], languages=["fi"], topics=["work"], online=True)
        espoo_work = staff(session, [("integration", "counsellor")], languages=["fi"], topics=["work"], municipalities=["049"], online=True)
        first = ticket(session, CONFIG, situation="jäin työttömäksi", municipality="049")
        assert first.topic == "work" and first.employment_status == "unemployed"
        assert first.status == "assigned" and first.assigned_user_id == espoo_work.user_id
        assert first.organisation_id == "integration"
        second = ticket(session, CONFIG, situation="etsin työtä", municipality="091")
        assert second.assigned_user_id == work.user_id  # topic before municipality
        third = ticket(session, CONFIG, situation="tarvitsen apua")
        # Topic "other": the generalist (no topics) ranks before the specialists.
        assert third.assigned_user_id == general.user_id
        fourth = ticket(session, CONFIG, language="en", situation="help")
        assert fourth.assigned_user_id == english.user_id
        conversation = session.get(Conversation, first.conversation_id)
        assert conversation is not None and conversation.state == "counsellor"
        assert _messages(session, first.conversation_id)[-1].payload["key"] == "queue.counsellor_joined"


def test_capacity_and_least_loaded(db: sessionmaker[Session]) -> None:
    with db() as session:
        one = staff(session, [("te", "counsellor")], languages=["fi"], max_concurrent=1, online=True)
        two = staff(session, [("te", "counsellor")], languages=["fi"], max_concurrent=2, online=True)
        tickets = [ticket(session, CONFIG) for _ in range(4)]
        owners = [t.assigned_user_id for t in tickets]
        assert sorted(o for o in owners if o) == sorted([one.user_id, two.user_id, two.user_id])
        assert tickets[3].status == "waiting"  # everyone is full: it waits


def test_unmatched_language_waits_then_is_offered_to_anyone(db: sessionmaker[Session]) -> None:
    with db() as session:
        finnish = staff(session, [("te", "counsellor")], languages=["fi"], online=True)
        arabic = ticket(session, CONFIG, language="ar")
        assert arabic.status == "waiting"
        assert queue_console.queue_view(session=session, principal=finnish, now=OPEN_NOW, config=CONFIG)["waiting"] == []
        with pytest.raises(NotAllowed):
            queue.take(session=session, handover_id=arabic.id, principal=finnish, now=OPEN_NOW, config=MANUAL)
        counsellors.heartbeat(session=session, principal=finnish, now=later(120))
        changed = queue.run_timers(session=session, now=later(121), config=CONFIG)
        session.refresh(arabic)
        assert arabic.conversation_id in changed
        assert arabic.widened_at is not None and arabic.status == "assigned" and arabic.assigned_user_id == finnish.user_id
        keys = [m.payload.get("key") for m in _messages(session, arabic.conversation_id)]
        assert "queue.other_languages" in keys
        told = next(m for m in _messages(session, arabic.conversation_id) if m.payload.get("key") == "queue.other_languages")
        assert any("\u0600" <= ch <= "\u06ff" for ch in told.text)  # in the user's language


def test_away_and_offline_counsellors_get_nothing(db: sessionmaker[Session]) -> None:
    with db() as session:
        away = staff(session, [("te", "counsellor")], languages=["fi"])
        counsellors.set_presence(session=session, principal=away, status="away", now=OPEN_NOW)
        assert queue.availability(session=session, language="fi", now=OPEN_NOW, config=CONFIG) == "nobody"
        waiting = ticket(session, CONFIG)
        assert waiting.status == "waiting"


def test_outside_hours_is_closed_even_with_someone_online(db: sessionmaker[Session]) -> None:
    with db() as session:
        staff(session, [("te", "counsellor")], languages=["fi"], online=True, now=CLOSED_NOW)
        assert queue.availability(session=session, language="fi", now=CLOSED_NOW, config=CONFIG) == "closed"
        assert queue.availability(session=session, language="fi", now=CLOSED_NOW, config=queue.QueueConfig(business_hours=False)) == "live"


# -- taking: exactly one wins -----------------------------------------------------------


def _race(made: sessionmaker[Session], rounds: int = 10, takers: int = 4) -> None:
    with made() as session:
        people = [staff(session, [("te", "counsellor")], languages=["fi"], online=True) for _ in range(takers)]
        ids = [ticket(session, MANUAL).id for _ in range(rounds)]
        session.commit()
    for ticket_id in ids:
        barrier = threading.Barrier(takers)
        outcomes: list[str] = []
        lock = threading.Lock()

        def attempt(principal) -> None:  # type: ignore[no-untyped-def]
            barrier.wait()
            try:
                leases.run_transaction(
                    made, lambda s: queue.take(session=s, handover_id=ticket_id, principal=principal, now=OPEN_NOW, config=MANUAL)
                )
                result = f"won:{principal.user_id}"
            except Conflict:
                result = "lost"
            with lock:
                outcomes.append(result)

        threads = [threading.Thread(target=attempt, args=(p,)) for p in people]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        winners = [o for o in outcomes if o.startswith("won")]
        assert len(outcomes) == takers and len(winners) == 1, outcomes
        with made() as session:
            row = session.get(Handover, ticket_id)
            assert row is not None and row.status == "assigned" and f"won:{row.assigned_user_id}" == winners[0]
            joined = [m for m in _messages(session, row.conversation_id) if m.payload.get("key") == "queue.counsellor_joined"]
            assert len(joined) == 1


def test_take_race_sqlite(db: sessionmaker[Session]) -> None:
    _race(db)


@pytest.mark.postgres
def test_take_race_postgres(postgres_url: str, tmp_path: Path) -> None:
    made = _fresh(Settings(state_dir=tmp_path, database_url=postgres_url))
    try:
        _race(made)
    finally:
        made.kw["bind"].dispose()


# -- in the conversation ------------------------------------------------------------------


def test_reply_transfer_close_and_rating(db: sessionmaker[Session]) -> None:
    with db() as session:
        anna = staff(session, [("te", "counsellor")], languages=["fi"], online=True)
        ville = staff(session, [("te", "counsellor")], languages=["fi"], online=True)
        youth = staff(session, [("ohjaamo", "counsellor")], languages=["fi"], online=True)
        outsider = staff(session, [("schools", "counsellor")], languages=["fi"], online=True)
        open_ticket = ticket(session, MANUAL)
        queue.take(session=session, handover_id=open_ticket.id, principal=anna, now=OPEN_NOW, config=MANUAL)
        with pytest.raises(NotAllowed):
            queue.reply(session=session, handover_id=open_ticket.id, principal=ville, text="hei", now=OPEN_NOW)
        message = queue.reply(session=session, handover_id=open_ticket.id, principal=anna, text="Hei, miten voin auttaa?", now=OPEN_NOW)
        assert (message.author, message.direction) == ("counsellor", "out")

        declined = queue.request_transfer(session=session, handover_id=open_ticket.id, principal=anna, to_user_id=ville.user_id, note="sinulle", now=OPEN_NOW)
        with pytest.raises(NotAllowed):
            queue.decide_transfer(session=session, transfer_id=declined.id, principal=outsider, accept=True, now=OPEN_NOW)
        queue.decide_transfer(session=session, transfer_id=declined.id, principal=ville, accept=False, now=OPEN_NOW)
        assert session.get(Handover, open_ticket.id).assigned_user_id == anna.user_id  # type: ignore[union-attr]

        to_youth = queue.request_transfer(session=session, handover_id=open_ticket.id, principal=anna, to_organisation_id="ohjaamo", note="nuori", now=OPEN_NOW)
        with pytest.raises(Conflict):
            queue.request_transfer(session=session, handover_id=open_ticket.id, principal=anna, to_user_id=ville.user_id, now=OPEN_NOW)
        assert queue.can_view(session, open_ticket, youth) and not queue.can_view(session, open_ticket, outsider)
        queue.decide_transfer(session=session, transfer_id=to_youth.id, principal=youth, accept=True, now=OPEN_NOW)
        session.refresh(open_ticket)
        assert open_ticket.assigned_user_id == youth.user_id and open_ticket.organisation_id == "ohjaamo"
        with pytest.raises(NotAllowed):
            queue.reply(session=session, handover_id=open_ticket.id, principal=anna, text="vielä", now=OPEN_NOW)

        with pytest.raises(InvalidQuery):
            queue.close(session=session, handover_id=open_ticket.id, principal=youth, outcome_code="referred", now=OPEN_NOW, config=CONFIG)
        with pytest.raises(InvalidQuery):
            queue.close(session=session, handover_id=open_ticket.id, principal=youth, outcome_code="returned_to_bot", now=OPEN_NOW, config=CONFIG)
        queue.close(session=session, handover_id=open_ticket.id, principal=youth, outcome_code="appointment_booked", now=later(600), config=CONFIG)
        with pytest.raises(Conflict):
            queue.close(session=session, handover_id=open_ticket.id, principal=youth, outcome_code="answered", now=later(601), config=CONFIG)
        last = _messages(session, open_ticket.conversation_id)[-1]
        assert last.payload["key"] == "queue.closed"
        assert [b["payload"] for b in last.payload["buttons"]] == [f'/satisfaction{{"score": {n}}}' for n in range(1, 6)]
        assert session.get(Conversation, open_ticket.conversation_id).state == "bot"  # type: ignore[union-attr]

        assert queue.parse_satisfaction('/satisfaction{"score": 4}') == 4
        assert queue.parse_satisfaction('/satisfaction{"score": 9}') is None
        assert queue.parse_satisfaction("/satisfaction{oops") is None
        assert queue.record_satisfaction(session=session, conversation_id=open_ticket.conversation_id, score=4, now=OPEN_NOW)
        assert not queue.record_satisfaction(session=session, conversation_id=open_ticket.conversation_id, score=5, now=OPEN_NOW)
        session.refresh(open_ticket)
        assert open_ticket.satisfaction == 4 and open_ticket.outcome_code == "appointment_booked"


def test_hand_back_to_bot(db: sessionmaker[Session]) -> None:
    with db() as session:
        anna = staff(session, [("te", "counsellor")], languages=["fi"], online=True)
        handed = ticket(session, CONFIG)
        assert handed.assigned_user_id == anna.user_id
        queue.hand_back(session=session, handover_id=handed.id, principal=anna, now=OPEN_NOW)
        session.refresh(handed)
        assert handed.status == "closed" and handed.outcome_code == "returned_to_bot"
        assert session.get(Conversation, handed.conversation_id).state == "bot"  # type: ignore[union-attr]


def test_notes_and_canned_replies_stay_in_their_organisation(db: sessionmaker[Session]) -> None:
    with db() as session:
        anna = staff(session, [("te", "counsellor")], languages=["fi"], online=True)
        other = staff(session, [("ohjaamo", "supervisor")], languages=["fi"])
        te_admin = staff(session, [("te", "org_admin")])
        handled = ticket(session, CONFIG)
        queue_console.add_note(session=session, handover_id=handled.id, principal=anna, text="soita huomenna", now=OPEN_NOW)
        assert [n.text for n in queue_console.notes_for(session=session, ticket=handled, principal=anna)] == ["soita huomenna"]
        assert queue_console.notes_for(session=session, ticket=handled, principal=other) == []
        queue_console.add_canned(session=session, principal=te_admin, organisation_id="te", language="fi", title="Tervehdys", text="Hei!", now=OPEN_NOW)
        with pytest.raises(NotAllowed):
            queue_console.add_canned(session=session, principal=anna, organisation_id="te", language="fi", title="x", text="y", now=OPEN_NOW)
        assert [c.title for c in queue_console.canned_for(session=session, principal=anna, language="fi")] == ["Tervehdys"]
        assert queue_console.canned_for(session=session, principal=other, language="fi") == []


# -- what the citizen sees ------------------------------------------------------------------


def test_position_safety_first_and_estimate_after_enough_history(db: sessionmaker[Session]) -> None:
    with db() as session:
        first = ticket(session, MANUAL, now=OPEN_NOW)
        second = ticket(session, MANUAL, now=later(10))
        urgent = ticket(session, MANUAL, now=later(20), safety=True)
        assert [queue.position(session=session, ticket=t) for t in (urgent, first, second)] == [1, 2, 3]
        conversation = session.get(Conversation, second.conversation_id)
        assert conversation is not None
        status = queue.queue_status(session=session, conversation=conversation, now=later(30), config=MANUAL)
        assert status["state"] == "waiting" and status["position"] == 3 and status["estimate_minutes"] is None
        assert status["text"] == "Olet jonossa sijalla 3. Odotusaika-arviota ei vielä ole."

        anna = staff(session, [("te", "counsellor")], languages=["fi"], online=True, max_concurrent=1, now=later(30))
        for minute in range(5):  # five closed chats of 6 minutes each
            done = ticket(session, MANUAL, now=later(60))
            queue.take(session=session, handover_id=done.id, principal=anna, now=later(60 + minute * 600), config=MANUAL)
            queue.close(session=session, handover_id=done.id, principal=anna, outcome_code="answered", now=later(60 + minute * 600 + 360), config=MANUAL)
        counsellors.heartbeat(session=session, principal=anna, now=later(3100))
        status = queue.queue_status(session=session, conversation=conversation, now=later(3100), config=MANUAL)
        assert status["estimate_minutes"] == 18  # 3rd in line x 6 minutes / 1 slot
        assert "18" in status["text"]


def test_queue_status_states(db: sessionmaker[Session]) -> None:
    with db() as session:
        left = ticket(session, CONFIG, offline=True)
        conversation = session.get(Conversation, left.conversation_id)
        assert conversation is not None and conversation.state == "offline" and left.status == "offline"
        status = queue.queue_status(session=session, conversation=conversation, now=OPEN_NOW, config=CONFIG)
        assert status["state"] == "offline" and status["position"] is None


# -- timers ----------------------------------------------------------------------------


def test_disconnected_counsellor_tickets_return_to_the_queue(db: sessionmaker[Session]) -> None:
    with db() as session:
        anna = staff(session, [("te", "counsellor")], languages=["fi"], online=True)
        live = ticket(session, CONFIG)
        assert live.assigned_user_id == anna.user_id
        # Still within the heartbeat timeout: nothing happens.
        assert queue.run_timers(session=session, now=later(50), config=CONFIG) == set()
        changed = queue.run_timers(session=session, now=later(61), config=CONFIG)
        session.refresh(live)
        assert live.conversation_id in changed
        assert live.status == "waiting" and live.assigned_user_id is None
        assert counsellors.get_profile(session=session, user_id=anna.user_id).status == "offline"  # type: ignore[union-attr]
        assert session.get(Conversation, live.conversation_id).state == "queued"  # type: ignore[union-attr]
        assert _messages(session, live.conversation_id)[-1].payload["key"] == "queue.counsellor_left"


def test_silent_waiting_ticket_is_abandoned(db: sessionmaker[Session]) -> None:
    with db() as session:
        waiting = ticket(session, CONFIG)
        queue.run_timers(session=session, now=later(7201), config=CONFIG)
        session.refresh(waiting)
        assert waiting.status == "abandoned" and waiting.outcome_code == "abandoned_by_user"


def test_lease_lets_one_worker_run_the_timers(db: sessionmaker[Session]) -> None:
    ttl = timedelta(seconds=15)
    with db() as session:
        assert leases.acquire_lease(session=session, name="t", holder="a", now=OPEN_NOW, ttl=ttl)
        session.commit()
    with db() as session:
        assert not leases.acquire_lease(session=session, name="t", holder="b", now=later(5), ttl=ttl)
        assert leases.acquire_lease(session=session, name="t", holder="a", now=later(5), ttl=ttl)  # renewal
        session.commit()
    with db() as session:
        assert leases.acquire_lease(session=session, name="t", holder="b", now=later(21), ttl=ttl)  # expired
        session.commit()

    # Several workers at once: exactly one holds the lease.
    barrier = threading.Barrier(4)
    won: list[str] = []

    def worker(name: str) -> None:
        barrier.wait()
        if leases.run_transaction(db, lambda s: leases.acquire_lease(session=s, name="u", holder=name, now=OPEN_NOW, ttl=ttl)):
            won.append(name)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(won) == 1


def test_figures_are_per_organisation(db: sessionmaker[Session]) -> None:
    with db() as session:
        anna = staff(session, [("te", "counsellor")], languages=["fi"], online=True)
        staff(session, [("ohjaamo", "counsellor")], languages=["sv"])
        handled = ticket(session, MANUAL, now=OPEN_NOW)
        queue.take(session=session, handover_id=handled.id, principal=anna, now=later(120), config=MANUAL)
        queue.close(session=session, handover_id=handled.id, principal=anna, outcome_code="answered", now=later(600), config=MANUAL)
        queue.record_satisfaction(session=session, conversation_id=handled.conversation_id, score=5, now=later(700))
        ticket(session, MANUAL, now=later(800))
        te = queue_console.figures(session=session, organisation_id="te", now=later(900), config=MANUAL)
        youth = queue_console.figures(session=session, organisation_id="ohjaamo", now=later(900), config=MANUAL)
    assert te["waiting_now"] == 1 and te["median_wait_seconds"] == 120 and te["handled_today"] == 1
    assert te["satisfaction_mean"] == 5 and te["satisfaction_count"] == 1
    assert youth["waiting_now"] == 0 and youth["handled_today"] == 0 and youth["satisfaction_mean"] is None


def test_store_roundtrip_keeps_ticket_fields(db: sessionmaker[Session]) -> None:
    with db() as session:
        made = ticket(session, MANUAL, age=24.0, municipality="091", situation="olen opiskelija ja etsin asuntoa", safety=True)
        session.commit()
    with db() as session:
        row = session.get(Handover, made.id)
        assert row is not None
        assert (row.age, row.municipality, row.topic, row.employment_status) == (24, "091", "studies", "student")
        assert row.priority == store.PRIORITY_SAFETY and row.safety and row.channel == "web"


def test_offline_message_is_answered_in_the_conversation(db: sessionmaker[Session]) -> None:
    with db() as session:
        left = ticket(session, CONFIG, offline=True, now=CLOSED_NOW)
        assert queue.dispatch(session=session, now=CLOSED_NOW, config=CONFIG) == []  # offline tickets are picked by hand
        anna = staff(session, [("te", "counsellor")], languages=["fi"], online=True, now=later(36000, CLOSED_NOW))
        queue.take(session=session, handover_id=left.id, principal=anna, now=later(36000, CLOSED_NOW), config=CONFIG)
        answer = queue.reply(session=session, handover_id=left.id, principal=anna, text="Vastaus viestiisi.", now=later(36060, CLOSED_NOW))
        session.refresh(left)
        assert left.status == "assigned" and left.offline
        assert _messages(session, left.conversation_id)[-1].id == answer.id
        assert session.get(Conversation, left.conversation_id).state == "counsellor"  # type: ignore[union-attr]
