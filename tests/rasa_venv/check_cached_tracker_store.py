"""Runs in the Rasa venv (tests/test_tracker_store.py starts it): bot/stores/cached_sql.py
against Rasa's own SQLTrackerStore on one real SQLite file. Exits non-zero on the first
failed check and prints one line per passed check."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

from bot.stores.cached_sql import CachedSQLTrackerStore

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [describe_situation]
slots:
  language: {type: text, mappings: [{type: custom}]}
  age: {type: float, mappings: [{type: custom}]}
"""
)


def check(name: str, condition: bool, detail: Any = "") -> None:
    if not condition:
        print(f"FAILED {name} {detail}")
        sys.exit(1)
    print(f"ok {name}")


def turn(tracker: Any, text: str, **slots: Any) -> None:
    tracker.update(UserUttered(text, intent={"name": "describe_situation", "confidence": 0.9}))
    for name, value in slots.items():
        tracker.update(SlotSet(name, value))
    tracker.update(ActionExecuted("action_recommend"))
    tracker.update(BotUttered(f"reply to {text}", data={"custom": {"cards": [{"id": "hel-tpr:1"}]}}))
    tracker.update(ActionExecuted("action_listen"))


def dump(tracker: Any) -> list[dict[str, Any]]:
    return [event.as_dict() for event in tracker.events]


class StatementCounter:
    def __init__(self, engine: Any) -> None:
        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *args: Any) -> None:
        self.count += 1


async def scenario(db: Path) -> None:
    cached = CachedSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(db), cached_conversations=2)
    plain = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(db))
    statements = StatementCounter(cached.engine)

    tracker = await cached.get_or_create_tracker("a")
    turn(tracker, "hei", language="fi")
    await cached.save(tracker)
    tracker = await cached.retrieve("a")  # from the database, then remembered
    stored = len(tracker.events)
    turn(tracker, "olen 19", age=19.0)
    before = statements.count
    await cached.save(tracker)
    check("a remembered conversation's save is one check and an insert per new event",
          statements.count - before == 1 + len(tracker.events) - stored, statements.count - before)

    before = statements.count
    from_memory = await cached.retrieve("a")
    check("a remembered conversation's read is one query", statements.count - before == 1, statements.count - before)
    from_database = await plain.retrieve("a")
    check("what memory gives equals what the database holds", dump(from_memory) == dump(from_database))
    check("slots survive the round trip", from_memory.get_slot("age") == 19.0 and from_memory.get_slot("language") == "fi")

    foreign = await plain.retrieve("a")
    turn(foreign, "kiitos", language="sv")
    await plain.save(foreign)
    after_foreign = await cached.retrieve("a")
    check("rows written by another server are read from the database", after_foreign.get_slot("language") == "sv")
    check("... and equal Rasa's own read", dump(after_foreign) == dump(await plain.retrieve("a")))

    stale = await cached.retrieve("a")
    foreign = await plain.retrieve("a")
    turn(foreign, "toinen palvelin")
    await plain.save(foreign)
    turn(stale, "vanha")
    await cached.save(stale)  # the database moved on: Rasa's own save, nothing remembered
    check("after a save that found foreign rows the read equals Rasa's",
          dump(await cached.retrieve("a")) == dump(await plain.retrieve("a")))

    tracker = await cached.retrieve("a")
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    turn(tracker, "uusi istunto", language="fi")
    await cached.save(tracker)
    new_session = await cached.retrieve("a")
    check("a new session reads from its start, as Rasa does", dump(new_session) == dump(await plain.retrieve("a")))
    check("... which holds only the new session's events", len(new_session.events) < len(tracker.events),
          (len(new_session.events), len(tracker.events)))

    for sender in ("b", "c"):
        other = await cached.get_or_create_tracker(sender)
        turn(other, "hello", language="en")
        await cached.save(other)
        await cached.retrieve(sender)
    before = statements.count
    evicted = await cached.retrieve("a")
    check("the least recently used conversation beyond the capacity is read from the database",
          statements.count - before > 1 and dump(evicted) == dump(await plain.retrieve("a")))

    with sqlite3.connect(db) as connection:  # what the retention purge does
        connection.execute("DELETE FROM events WHERE sender_id = 'b'")
    check("a purged conversation is gone, not served from memory", await cached.retrieve("b") is None)
    check("an unknown conversation is None", await cached.retrieve("nobody") is None)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(scenario(Path(folder) / "tracker.db"))
    print("all checks passed")


if __name__ == "__main__":
    main()
