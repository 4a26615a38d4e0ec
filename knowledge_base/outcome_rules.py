"""What happened in one conversation, computed from its stored rows (messages, handovers,
opened links): a pure function, so the figures are never a second copy of the data.

Final outcome, the first rule that holds (README "Guidance outcomes" has the same list):

1. referred_by_counsellor: a counsellor took a live ticket of the conversation
   (assigned_at set, not left as an offline message) and did not hand it back to the bot.
2. offline_message: the user left a message for a counsellor (a ticket with offline set).
3. abandoned: the user asked for a person and nobody took the ticket (status abandoned,
   or still waiting 30 minutes after the user's last message).
4. recommended_and_opened: the user opened a service link through the click-through route.
5. answered: the bot answered from the catalogue (service cards or a service's details)
   or from a curated FAQ answer.
6. abandoned: none of the above and no user message for 30 minutes.
7. in_progress: none of the above yet; not a final outcome, shown apart.

Times are UTC in the database; a conversation's day is its start in Finnish time
(Europe/Helsinki).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

REFERRED = "referred_by_counsellor"
OFFLINE = "offline_message"
OPENED = "recommended_and_opened"
ANSWERED = "answered"
ABANDONED = "abandoned"
IN_PROGRESS = "in_progress"
FINAL_OUTCOMES: tuple[str, ...] = (ANSWERED, OPENED, REFERRED, OFFLINE, ABANDONED)
OUTCOMES: tuple[str, ...] = (*FINAL_OUTCOMES, IN_PROGRESS)
SELF_SERVICE: frozenset[str] = frozenset({ANSWERED, OPENED})

IDLE = timedelta(minutes=30)
HELSINKI = ZoneInfo("Europe/Helsinki")

# Bot message keys that mean an answer from the catalogue or a curated FAQ answer.
CATALOGUE_KEYS = frozenset({"bot.recommend_intro", "bot.info_intro"})
FAQ_KEYS = frozenset({"bot.faq_related_service"})
FAQ_ACTION = "action_answer_info"  # its keyless text reply without bot.info_intro is a FAQ answer
# Keys that mean the bot did not understand, or found nothing for the question.
FALLBACK_KEYS = frozenset({"bot.not_understood"})
UNANSWERED_KEYS = frozenset({"bot.not_understood", "bot.no_services"})
OFFER_KEY = "bot.offer_human"
RETURNED_TO_BOT = "returned_to_bot"  # a counsellor handed the conversation back: no referral
AGE_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (0, 17, "under_18"),
    (18, 24, "18_24"),
    (25, 29, "25_29"),
    (30, 64, "30_64"),
    (65, None, "65_plus"),
)


@dataclass(frozen=True)
class MessageRow:
    seq: int
    author: str  # user, bot, counsellor, system
    created_at: datetime
    payload: dict[str, object]
    reply_to: int | None = None  # the inbound message's id, for bot replies
    id: int = 0
    text: str = ""  # user messages only; redact before showing


@dataclass(frozen=True)
class HandoverRow:
    reason: str
    status: str
    created_at: datetime
    offline: bool = False
    assigned_at: datetime | None = None
    outcome_code: str | None = None
    satisfaction: int | None = None
    organisation_id: str | None = None
    topic: str | None = None
    municipality: str | None = None
    age: int | None = None


@dataclass
class ConversationOutcome:
    conversation_id: str
    channel: str
    language: str
    day: date
    outcome: str
    intents: list[str] = field(default_factory=list)
    recommended: list[str] = field(default_factory=list)  # service ids, first time each
    opened: list[str] = field(default_factory=list)
    answered_from: str | None = None  # catalogue, faq
    fallbacks: int = 0
    unanswered: list[str] = field(default_factory=list)  # raw user texts: redact before use
    handed_over: bool = False  # any ticket: requested, an accepted offer, or safety
    handover_requested: bool = False
    handover_offered: bool = False
    handover_taken: bool = False
    wait_seconds: float | None = None
    outcome_code: str | None = None
    satisfaction: int | None = None
    organisation_id: str | None = None
    topic: str | None = None
    municipality: str | None = None
    age_band: str | None = None
    thumbs_up: int = 0
    thumbs_down: int = 0


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def helsinki_day(moment: datetime) -> date:
    return _utc(moment).astimezone(HELSINKI).date()


def _text(value: object) -> str | None:
    return str(value) if isinstance(value, str) and value else None


def age_band(age: int | None) -> str | None:
    if age is None:
        return None
    for low, high, name in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return name
    return None


def _answer_source(bot: Sequence[MessageRow]) -> str | None:
    keys = {str(m.payload.get("key") or "") for m in bot}
    if keys & CATALOGUE_KEYS:
        return "catalogue"
    if keys & FAQ_KEYS:
        return "faq"
    turns: dict[int | None, list[MessageRow]] = {}
    for message in bot:
        turns.setdefault(message.reply_to, []).append(message)
    for replies in turns.values():
        if any(m.payload.get("action") == FAQ_ACTION and not m.payload.get("key") for m in replies):
            return "faq"
    return None


def classify(
    *,
    conversation_id: str,
    channel: str,
    language: str,
    created_at: datetime,
    messages: Sequence[MessageRow],
    handovers: Sequence[HandoverRow],
    opened: Sequence[str],
    now: datetime,
    thumbs: tuple[int, int] = (0, 0),
) -> ConversationOutcome:
    bot = [m for m in messages if m.author == "bot"]
    users = [m for m in messages if m.author == "user"]
    result = ConversationOutcome(conversation_id, channel, language, helsinki_day(created_at), IN_PROGRESS)
    result.thumbs_up, result.thumbs_down = thumbs
    result.intents = [str(m.payload["intent"]) for m in bot if m.payload.get("intent")]
    result.intents = list(dict.fromkeys(result.intents))
    for message in bot:
        for card in message.payload.get("services") or []:  # type: ignore[attr-defined]
            if isinstance(card, dict) and card.get("id"):
                result.recommended.append(str(card["id"]))
    result.recommended = list(dict.fromkeys(result.recommended))
    result.opened = list(dict.fromkeys(opened))
    result.answered_from = _answer_source(bot)
    result.fallbacks = sum(1 for m in bot if m.payload.get("key") in FALLBACK_KEYS)
    by_id = {m.id: m for m in users}
    failed_turns = {m.reply_to for m in bot if m.payload.get("key") in UNANSWERED_KEYS}
    result.unanswered = [
        by_id[i].text for i in sorted(failed_turns, key=lambda i: by_id[i].seq if i in by_id else 0) if i in by_id
    ]
    result.handover_offered = any(m.payload.get("key") == OFFER_KEY for m in bot) or any(
        h.reason == "offered" for h in handovers
    )
    result.handed_over = bool(handovers)
    result.handover_requested = any(h.reason in ("requested", "safety") for h in handovers)

    ordered = sorted(handovers, key=lambda h: _utc(h.created_at))
    live_taken = [h for h in ordered if h.assigned_at is not None and not h.offline]
    result.handover_taken = bool(live_taken)
    if live_taken:
        first = live_taken[0]
        result.wait_seconds = (_utc(first.assigned_at) - _utc(first.created_at)).total_seconds()  # type: ignore[arg-type]
    if ordered:
        last = ordered[-1]
        result.organisation_id = next((h.organisation_id for h in reversed(ordered) if h.organisation_id), None)
        result.topic = last.topic
        result.outcome_code = next((h.outcome_code for h in reversed(ordered) if h.outcome_code), None)
        result.satisfaction = next((h.satisfaction for h in reversed(ordered) if h.satisfaction is not None), None)
        result.municipality = next((h.municipality for h in reversed(ordered) if h.municipality), None)
        result.age_band = age_band(next((h.age for h in reversed(ordered) if h.age is not None), None))
    # What the user told the bot (tagged on its replies), when no ticket says it.
    for message in reversed(bot):
        result.municipality = result.municipality or _text(message.payload.get("municipality"))
        result.age_band = result.age_band or _text(message.payload.get("age_band"))

    last_user = max((_utc(m.created_at) for m in users), default=_utc(created_at))
    idle = _utc(now) - last_user >= IDLE
    if any(h.outcome_code != RETURNED_TO_BOT for h in live_taken):
        result.outcome = REFERRED
    elif any(h.offline or h.status == "offline" for h in ordered):
        result.outcome = OFFLINE
    elif any(h.status == "abandoned" for h in ordered) or (ordered and ordered[-1].status == "waiting" and idle):
        result.outcome = ABANDONED
    elif ordered and ordered[-1].status == "waiting":
        result.outcome = IN_PROGRESS
    elif result.opened:
        result.outcome = OPENED
    elif result.answered_from:
        result.outcome = ANSWERED
    elif idle:
        result.outcome = ABANDONED
    return result
