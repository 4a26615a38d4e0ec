"""Guidance outcome figures for a period, organisation, language and channel, read from
the stored conversations (knowledge_base/outcome_rules.py says what each outcome means).

Small groups can identify people: every count under 5 leaves this module only as "<5"
(`shown`), and a rate, median or percentile over fewer than 5 cases is not given at all.
Text (unanswered questions) is redacted (knowledge_base/redaction.py) before it is
counted. Handover figures (wait, satisfaction, outcome codes, topics) are limited to the
organisations in `Filters.scope` (None = all, for platform admins); municipality and age
band are what the user said, counted for every conversation.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import bindparam, case, inspect, literal, select, text
from sqlalchemy.orm import Session

from knowledge_base.models import Conversation, Handover, Message, Service, ServiceClick, ServiceText
from knowledge_base.outcome_rules import (
    FINAL_OUTCOMES,
    HELSINKI,
    OUTCOMES,
    SELF_SERVICE,
    ConversationOutcome,
    HandoverRow,
    MessageRow,
    classify,
)
from knowledge_base.redaction import PLACEHOLDERS, redact

MIN_COUNT = 5
SMALL = "<5"
HIDDEN = "–"
TOP = 10
CHUNK = 500
FEEDBACK_TABLE = "chat_feedback"  # issue 6's ratings; read only when that table exists
OUTDATED = "outdated"
MAX_QUESTION = 200


def shown(count: int) -> str:
    """A count as it may be shown anywhere: under 5 becomes "<5"."""
    return SMALL if count < MIN_COUNT else str(count)


@dataclass(frozen=True)
class Filters:
    start: date  # Finnish days, both inclusive
    end: date
    language: str | None = None
    channel: str | None = None
    organisation_id: str | None = None  # only conversations a counsellor of it handled
    scope: frozenset[str] | None = None  # organisations whose handover figures may be shown


@dataclass
class Table:
    """One table of the dashboard and its CSV: `counts` are the indexes of count columns."""

    name: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    counts: tuple[int, ...] = (1,)

    def masked(self) -> list[list[str]]:
        return [
            [
                shown(value) if index in self.counts and isinstance(value, int) else str(value)
                for index, value in enumerate(row)
            ]
            for row in self.rows
        ]


@dataclass
class Figures:
    filters: Filters
    conversations: int
    outcomes: dict[str, int]
    self_service_rate: float | None
    escalation_rate: float | None
    handovers_taken: int
    median_wait_seconds: float | None
    p90_wait_seconds: float | None
    csat: float | None  # share of satisfaction answers 4 or 5
    satisfaction_answers: int
    waits: list[float]  # for the distribution chart only
    daily: dict[date, dict[str, int]]
    tables: dict[str, Table]

    def summary(self) -> Table:
        def rate(value: float | None) -> str:
            return HIDDEN if value is None else f"{value * 100:.0f} %"

        def minutes(value: float | None) -> str:
            return HIDDEN if value is None else f"{value / 60:.1f} min"

        table = Table("summary", ["figure", "value"], counts=())
        table.rows = [
            ["conversations", shown(self.conversations)],
            ["self_service_rate", rate(self.self_service_rate)],
            ["escalation_rate", rate(self.escalation_rate)],
            ["handovers_taken", shown(self.handovers_taken)],
            ["median_wait", minutes(self.median_wait_seconds)],
            ["p90_wait", minutes(self.p90_wait_seconds)],
            ["csat", rate(self.csat)],
            ["satisfaction_answers", shown(self.satisfaction_answers)],
        ]
        return table


def utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The UTC instants where the Finnish days `start`..`end` begin and end."""
    low = datetime.combine(start, time(), HELSINKI).astimezone(UTC)
    high = datetime.combine(end + timedelta(days=1), time(), HELSINKI).astimezone(UTC)
    return low, high


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for index in range(0, len(ids), CHUNK):
        yield ids[index : index + CHUNK]


def feedback_counts(session: Session, conversation_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Thumbs up and down per conversation from the ratings table, once it exists."""
    if not conversation_ids or not inspect(session.connection()).has_table(FEEDBACK_TABLE):
        return {}
    counts: dict[str, list[int]] = {}
    query = text(
        f"SELECT conversation_id, score FROM {FEEDBACK_TABLE} WHERE kind = 'answer' AND conversation_id IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    for chunk in _chunks(conversation_ids):
        for conversation_id, score in session.execute(query, {"ids": list(chunk)}):
            counts.setdefault(conversation_id, [0, 0])[0 if score > 0 else 1] += 1
    return {key: (up, down) for key, (up, down) in counts.items()}


def conversation_outcomes(session: Session, filters: Filters, *, now: datetime) -> list[ConversationOutcome]:
    low, high = utc_bounds(filters.start, filters.end)
    chosen = select(Conversation.id).where(Conversation.created_at >= low, Conversation.created_at < high)
    if filters.language:
        chosen = chosen.where(Conversation.language == filters.language)
    if filters.channel:
        chosen = chosen.where(Conversation.channel == filters.channel)
    if filters.organisation_id:
        handled = select(Handover.conversation_id).where(Handover.organisation_id == filters.organisation_id)
        chosen = chosen.where(Conversation.id.in_(handled))
    query = select(Conversation.id, Conversation.channel, Conversation.language, Conversation.created_at)
    conversations = list(session.execute(query.where(Conversation.id.in_(chosen)).order_by(Conversation.created_at)))
    ids = [c.id for c in conversations]
    messages: dict[str, list[MessageRow]] = {}
    handovers: dict[str, list[HandoverRow]] = {}
    clicks: dict[str, list[str]] = {}
    # Columns, not ORM objects: a month can hold a hundred thousand messages. Only the
    # user's own words are read as text, and only to be redacted.
    message_rows = select(
        Message.conversation_id,
        Message.seq,
        Message.author,
        Message.created_at,
        Message.payload,
        Message.reply_to,
        Message.id,
        case((Message.author == "user", Message.text), else_=literal("")),
    ).where(Message.conversation_id.in_(chosen), Message.author.in_(("user", "bot")))
    for conversation_id, *fields in session.execute(message_rows.order_by(Message.conversation_id, Message.seq)):
        seq, author, created_at, payload, reply_to, message_id, text_value = fields
        row = MessageRow(seq, author, created_at, dict(payload or {}), reply_to, message_id, text_value or "")
        messages.setdefault(conversation_id, []).append(row)
    handover_rows = select(
        Handover.conversation_id,
        Handover.reason,
        Handover.status,
        Handover.created_at,
        Handover.offline,
        Handover.assigned_at,
        Handover.outcome_code,
        Handover.satisfaction,
        Handover.organisation_id,
        Handover.topic,
        Handover.municipality,
        Handover.age,
    ).where(Handover.conversation_id.in_(chosen))
    for conversation_id, *fields in session.execute(handover_rows):
        handovers.setdefault(conversation_id, []).append(HandoverRow(*fields))
    click_rows = select(ServiceClick.conversation_id, ServiceClick.service_id).where(
        ServiceClick.conversation_id.in_(chosen)
    )
    for conversation_id, service_id in session.execute(click_rows.order_by(ServiceClick.id)):
        clicks.setdefault(str(conversation_id), []).append(service_id)
    thumbs = feedback_counts(session, ids)
    return [
        classify(
            conversation_id=c.id,
            channel=c.channel,
            language=c.language,
            created_at=c.created_at,
            messages=messages.get(c.id, []),
            handovers=handovers.get(c.id, []),
            opened=clicks.get(c.id, []),
            now=now,
            thumbs=thumbs.get(c.id, (0, 0)),
        )
        for c in conversations
    ]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole >= MIN_COUNT else None


def _counter_table(name: str, label: str, counter: Counter[str], *, order: Sequence[str] | None = None) -> Table:
    table = Table(name, [label, "count"])
    keys = (
        list(order)
        if order is not None
        else [key for key, _ in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]
    )
    table.rows = [[key, counter.get(key, 0)] for key in keys]
    return table


_PLACEHOLDER = re.compile("(" + "|".join(re.escape(p) for p in PLACEHOLDERS.values()) + ")")


def normalise_question(text_value: str) -> str:
    """Redacted first (IBANs are recognised in capitals), then the same question in other
    case or spacing counts as one; the placeholders keep their capitals."""
    parts = _PLACEHOLDER.split(re.sub(r"\s+", " ", redact(text_value)).strip())
    return "".join(part if part in PLACEHOLDERS.values() else part.lower() for part in parts)[:MAX_QUESTION]


def _service_tables(session: Session, items: list[ConversationOutcome]) -> dict[str, Table]:
    recommended: Counter[str] = Counter(s for item in items for s in item.recommended)
    opened: Counter[str] = Counter(s for item in items for s in item.opened)
    ids = sorted(set(recommended) | set(opened))
    names: dict[str, str] = {}
    statuses: dict[str, str] = {}
    for chunk in _chunks(ids):
        for service in session.scalars(select(Service).where(Service.id.in_(chunk))):
            statuses[service.id] = service.status
        for service_text in session.scalars(select(ServiceText).where(ServiceText.service_id.in_(chunk))):
            if service_text.name and (service_text.service_id not in names or service_text.language == "fi"):
                names[service_text.service_id] = service_text.name

    def table(name: str, rows: list[str]) -> Table:
        result = Table(name, ["service", "name", "recommended", "opened"], counts=(2, 3))
        result.rows = [[sid, names.get(sid, ""), recommended.get(sid, 0), opened.get(sid, 0)] for sid in rows]
        return result

    by_recommended = sorted(recommended, key=lambda s: (-recommended[s], s))
    least = sorted(recommended, key=lambda s: (recommended[s], s))
    by_opened = sorted(opened, key=lambda s: (-opened[s], s))
    # Shown often, opened rarely: the cards people do not find worth a click.
    least_opened = sorted(recommended, key=lambda s: (opened.get(s, 0), -recommended[s], s))
    stale = [sid for sid in by_recommended if statuses.get(sid) == OUTDATED]
    return {
        "services_most_recommended": table("services_most_recommended", by_recommended[:TOP]),
        "services_least_recommended": table("services_least_recommended", least[:TOP]),
        "services_most_opened": table("services_most_opened", by_opened[:TOP]),
        "services_least_opened": table("services_least_opened", least_opened[:TOP]),
        "stale_content": table("stale_content", stale),
    }


def figures(session: Session, filters: Filters, *, now: datetime) -> Figures:
    items = conversation_outcomes(session, filters, now=now)
    outcome_counts = Counter(item.outcome for item in items)
    final = sum(outcome_counts[o] for o in FINAL_OUTCOMES)
    self_served = sum(outcome_counts[o] for o in SELF_SERVICE)
    escalated = sum(1 for item in items if item.handed_over)
    in_scope = [
        item
        for item in items
        if filters.scope is None or (item.organisation_id is not None and item.organisation_id in filters.scope)
    ]
    waits = sorted(item.wait_seconds for item in in_scope if item.wait_seconds is not None)
    ratings = [item.satisfaction for item in in_scope if item.satisfaction is not None]
    enough_waits = len(waits) >= MIN_COUNT
    daily: dict[date, dict[str, int]] = {}
    for item in items:
        daily.setdefault(item.day, dict.fromkeys(OUTCOMES, 0))[item.outcome] += 1
    questions = Counter(normalise_question(q) for item in items for q in item.unanswered)
    questions.pop("", None)
    tables: dict[str, Table] = {
        "outcomes": _counter_table("outcomes", "outcome", outcome_counts, order=OUTCOMES),
        "answer_sources": _counter_table(
            "answer_sources",
            "source",
            Counter(item.answered_from or "none" for item in items),
            order=("catalogue", "faq", "none"),
        ),
        "languages": _counter_table("languages", "language", Counter(item.language for item in items)),
        "channels": _counter_table("channels", "channel", Counter(item.channel for item in items)),
        "intents": _counter_table("intents", "intent", Counter(i for item in items for i in item.intents)),
        "handover_steps": _counter_table(
            "handover_steps",
            "step",
            Counter(
                step
                for item in items
                for step, happened in (
                    ("offered", item.handover_offered),
                    ("requested", item.handover_requested),
                    ("taken", item.handover_taken),
                )
                if happened
            ),
            order=("offered", "requested", "taken"),
        ),
        "feedback": _counter_table(
            "feedback",
            "rating",
            Counter(
                {
                    "thumbs_up": sum(i.thumbs_up for i in items),
                    "thumbs_down": sum(i.thumbs_down for i in items),
                    "fallbacks": sum(i.fallbacks for i in items),
                }
            ),
            order=("thumbs_up", "thumbs_down", "fallbacks"),
        ),
        "topics": _counter_table("topics", "topic", Counter(item.topic for item in in_scope if item.topic)),
        "outcome_codes": _counter_table(
            "outcome_codes", "code", Counter(item.outcome_code for item in in_scope if item.outcome_code)
        ),
        "municipalities": _counter_table(
            "municipalities", "municipality", Counter(i.municipality for i in items if i.municipality)
        ),
        "age_bands": _counter_table("age_bands", "age_band", Counter(i.age_band for i in items if i.age_band)),
        "unanswered_questions": _counter_table(
            "unanswered_questions", "question", Counter(dict(questions.most_common(TOP)))
        ),
        **_service_tables(session, items),
    }
    return Figures(
        filters=filters,
        conversations=len(items),
        outcomes={o: outcome_counts.get(o, 0) for o in OUTCOMES},
        self_service_rate=_rate(self_served, final),
        escalation_rate=_rate(escalated, len(items)),
        handovers_taken=sum(1 for item in in_scope if item.handover_taken),
        median_wait_seconds=statistics.median(waits) if enough_waits else None,
        p90_wait_seconds=statistics.quantiles(waits, n=10, method="inclusive")[8] if enough_waits else None,
        csat=_rate(sum(1 for r in ratings if r >= 4), len(ratings)),
        satisfaction_answers=len(ratings),
        waits=waits if enough_waits else [],
        daily=dict(sorted(daily.items())),
        tables=tables,
    )
