"""Rasa's SQL tracker store, keeping the events of recent conversations in memory.

On every message Rasa 3.6's SQLTrackerStore reads all events of the conversation's session,
turns each row back into an event (``Event.from_parameters`` walks every Event subclass per
event) and replays them; before saving it counts the rows again. The cost grows with every
turn: ~3.7 ms for a 6-turn tracker of 57 events, ~13 ms at 20 turns, and it was 21 % of the
Rasa servers' CPU at 100 conversations. This store keeps the event objects of the last
``cached_conversations`` conversations it read or wrote and rebuilds the tracker from them.

The database stays the record. One indexed query for the conversation's newest event id
tells whether the database holds exactly what memory holds (another Rasa server may have
answered the conversation while this one was down; the retention purge may have deleted
it); otherwise the tracker is read from the database as Rasa does. A save that finds rows it
did not write, a tracker whose events are not the remembered ones followed by new ones, or
a new session (Rasa then reads only from the session start) forgets the conversation, so the
next read goes to the database.

bot/endpoints.yml names it as ``bot.stores.cached_sql.CachedSQLTrackerStore``; every other
setting is SQLTrackerStore's.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, List, Optional, Text

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY


@dataclass
class _Remembered:
    newest_event_id: int
    events: List[Event]


class CachedSQLTrackerStore(SQLTrackerStore):
    def __init__(self, domain: Optional[Domain] = None, cached_conversations: int = 500, **kwargs: Any) -> None:
        super().__init__(domain=domain, **kwargs)
        self._capacity = int(cached_conversations)
        self._remembered: "OrderedDict[Text, _Remembered]" = OrderedDict()

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        with self.session_scope() as session:
            newest = self._newest_event_id(session, sender_id)
        remembered = self._remembered.get(sender_id)
        if newest is None:
            self._forget(sender_id)
            return None
        if remembered is not None and remembered.newest_event_id == newest:
            self._remembered.move_to_end(sender_id)
            return DialogueStateTracker.from_events(sender_id, list(remembered.events), self.domain.slots)
        tracker = await super().retrieve(sender_id)
        if tracker is None:
            self._forget(sender_id)
        else:
            # The id read before the events: if a row arrived in between, the next read
            # sees a newer id than this one and goes to the database again.
            self._remember(sender_id, _Remembered(newest, list(tracker.events)))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        sender_id = tracker.sender_id
        remembered = self._remembered.pop(sender_id, None)
        events = list(tracker.events)
        if remembered is None or not _extends(events, remembered.events):
            await super().save(tracker)
            return
        with self.session_scope() as session:
            foreign_rows = self._newest_event_id(session, sender_id) != remembered.newest_event_id
        if foreign_rows:  # rows this server did not write: Rasa's own save (it streams too), nothing remembered
            await super().save(tracker)
            return
        await self.stream_events(tracker)
        new_events = events[len(remembered.events) :]
        with self.session_scope() as session:
            rows = [self._row(sender_id, event) for event in new_events]
            session.add_all(rows)
            session.flush()
            newest = rows[-1].id if rows else remembered.newest_event_id
            session.commit()
        if not any(isinstance(event, SessionStarted) for event in new_events):
            self._remember(sender_id, _Remembered(newest, events))

    def _newest_event_id(self, session: Any, sender_id: Text) -> Optional[int]:
        return session.query(sa.func.max(self.SQLEvent.id)).filter(self.SQLEvent.sender_id == sender_id).scalar()

    def _row(self, sender_id: Text, event: Event) -> Any:
        # The columns SQLTrackerStore.save writes.
        data = event.as_dict()
        return self.SQLEvent(
            sender_id=sender_id,
            type_name=event.type_name,
            timestamp=data.get("timestamp"),
            intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            action_name=data.get("name"),
            data=json.dumps(data),
        )

    def _remember(self, sender_id: Text, remembered: _Remembered) -> None:
        self._remembered[sender_id] = remembered
        self._remembered.move_to_end(sender_id)
        while len(self._remembered) > self._capacity:
            self._remembered.popitem(last=False)

    def _forget(self, sender_id: Text) -> None:
        self._remembered.pop(sender_id, None)


def _extends(events: List[Event], prefix: List[Event]) -> bool:
    """Whether ``events`` are the remembered event objects themselves, followed by new ones."""
    return len(events) >= len(prefix) and all(a is b for a, b in zip(events, prefix))
