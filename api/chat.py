"""ChatService: the one path every channel (web widget, Telegram) uses to talk to the bot.

Every inbound message is stored (status pending) before anything else happens, then
the conversation's pending messages are sent to Rasa in order. If Rasa is down the
user gets "one moment", the messages stay pending, and `process_backlog` answers
them when Rasa is back. After a handover, messages go to the counsellor, never to
the bot, but a message about danger still gets the emergency numbers at once.

A handover opens a ticket in the shared counsellor queue (knowledge_base/queue.py)
when someone who could take it is online in an open organisation; otherwise the user
is offered to leave a message (an offline ticket), never promised live chat. A
`/satisfaction{"score": N}` payload (the rating buttons at close) is stored on the
ticket and thanked for; it never reaches the bot or the counsellor.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.conversation_locks import ConversationLocks, LocalLocks
from api.notifier import Notifier
from api.rasa_client import RasaClient
from api.rendering import Rendered, render_key, render_reply
from api.transactions import in_transaction
from knowledge_base import conversations as store
from knowledge_base import queue
from knowledge_base.clicks import ROUTE_PREFIX, ClickLinks
from knowledge_base.errors import InvalidQuery, UpstreamUnavailable
from knowledge_base.i18n import Catalogue
from knowledge_base.language import SUPPORTED_LANGUAGES, detect_language
from knowledge_base.models import Conversation, Message
from knowledge_base.safety import SafetyTerms

logger = logging.getLogger(__name__)

T = TypeVar("T")
MAX_TEXT = 4000
BACKLOG_CONCURRENCY = 4
LANGUAGE_COMMAND = "/language"
SAFETY_CONFIDENCE = 0.5
SAFETY_PAYLOAD = "/safety"
BACKGROUND_GRACE_SECONDS = 5.0
DEFAULT_LANGUAGE = "fi"
CLICK_PREFIX = ROUTE_PREFIX + "/"


@dataclass
class ChatReply:
    conversation_id: str
    language: str
    state: str
    messages: list[dict[str, Any]]
    token: str | None = None  # only when the conversation was created by this call


def message_view(message: Message, links: ClickLinks) -> dict[str, Any]:
    return {
        "id": message.id,
        "seq": message.seq,
        "author": message.author,
        "text": message.text,
        "buttons": message.payload.get("buttons", []),
        "services": [
            through_click_route(card, message.conversation_id, links) for card in message.payload.get("services", [])
        ],
    }


def through_click_route(card: dict[str, Any], conversation_id: str, links: ClickLinks) -> dict[str, Any]:
    """A card's link goes through /r/{service_id}/{link_id}, which records the click
    (a path: each channel makes it absolute with the address people reach the API at)."""
    url = card.get("url")
    if not url or not card.get("id"):
        return card
    return {**card, "url": links.path(str(card["id"]), str(url), conversation_id)}


def absolute_links(messages: list[dict[str, Any]], base_url: str) -> list[dict[str, Any]]:
    """Click-route links made absolute with the API's own address: the embedded widget
    and other clients on other origins only follow http(s) URLs."""
    base = base_url.rstrip("/")
    for message in messages:
        for card in message.get("services", []):
            url = card.get("url")
            if isinstance(url, str) and url.startswith(CLICK_PREFIX):
                card["url"] = base + url
    return messages


class ChatService:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        rasa: RasaClient,
        messages: Catalogue,
        safety_contacts: dict[str, str],
        safety_terms: SafetyTerms,
        notifier: Notifier,
        links: ClickLinks,
        locks: ConversationLocks | None = None,
        queue_config: queue.QueueConfig | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self._rasa = rasa
        self._messages = messages
        self._safety_contacts = safety_contacts
        self._safety_terms = safety_terms
        self._notifier = notifier
        self._links = links
        self._queue_config = queue_config or queue.QueueConfig()
        self._clock = clock
        self._locks = locks or LocalLocks()
        self._background: set[asyncio.Task[None]] = set()

    async def _db(self, work: Callable[[Session], T]) -> T:
        return await in_transaction(self._sessions, work)

    # -- public API -----------------------------------------------------------------

    async def send(
        self,
        *,
        conversation_id: str | None,
        token: str | None,
        text: str,
        client_message_id: str | None,
        channel: str,
        language_hint: str | None = None,
    ) -> ChatReply:
        """`language_hint`: the client's language, for a first message too short to tell."""
        if not text.strip():
            raise InvalidQuery("text is empty: write a message")
        if len(text) > MAX_TEXT:
            raise InvalidQuery(f"text is {len(text)} characters; the limit is {MAX_TEXT}")

        def store_inbound(session: Session) -> tuple[str, str | None, int, bool]:
            new_token = None
            if conversation_id is None:
                language = detect_language(text, fallback=language_hint) or DEFAULT_LANGUAGE
                conversation, new_token = store.create_conversation(
                    session=session, channel=channel, language=language, now=self._clock()
                )
            else:
                conversation = store.authenticate(session=session, conversation_id=conversation_id, token=token)
                if client_message_id:
                    earlier = store.inbound_by_client_id(
                        session=session, conversation_id=conversation.id, client_message_id=client_message_id
                    )
                    if earlier is not None:
                        # A retry (its answer was lost, e.g. the worker died): answered
                        # already, or still pending and processed now like the first try.
                        return conversation.id, None, earlier.id, earlier.status != store.PENDING
            inbound = store.add_message(
                session=session,
                conversation=conversation,
                direction="in",
                author="user",
                text=text,
                now=self._clock(),
                status=store.PENDING,
                client_message_id=client_message_id,
            )
            return conversation.id, new_token, inbound.id, False

        conv_id, new_token, inbound_id, handled = await self._db(store_inbound)
        if not handled:
            self._notifier.notify(conv_id)
            # Held elsewhere too long (or the lock store is down): the message stays
            # pending and a backlog round answers it; the streams deliver the answer.
            async with self._locks.hold(conv_id, wait=True) as held:
                if held:
                    await self._process(conv_id)

        def reply(session: Session) -> ChatReply:
            conversation = store.get_conversation(session=session, conversation_id=conv_id)
            replies = store.replies_to(session=session, message_id=inbound_id)
            return ChatReply(conv_id, conversation.language, conversation.state, [message_view(m, self._links) for m in replies])

        result = await self._db(reply)
        result.token = new_token
        return result

    async def messages_after(self, *, conversation_id: str, token: str | None, after: int) -> ChatReply:
        def read(session: Session) -> ChatReply:
            conversation = store.authenticate(session=session, conversation_id=conversation_id, token=token)
            later = store.messages_after(session=session, conversation_id=conversation.id, seq=after)
            return ChatReply(
                conversation.id, conversation.language, conversation.state, [message_view(m, self._links) for m in later]
            )

        return await self._db(read)

    async def queue_status(self, *, conversation_id: str, token: str | None) -> dict[str, Any]:
        """{"state", "position", "estimate_minutes", "text"} for the widget (knowledge_base.queue.queue_status)."""

        def read(session: Session) -> dict[str, Any]:
            conversation = store.authenticate(session=session, conversation_id=conversation_id, token=token)
            return queue.queue_status(
                session=session, conversation=conversation, now=self._clock(), config=self._queue_config, messages=self._messages
            )

        return await self._db(read)

    async def check_access(self, *, conversation_id: str, token: str | None) -> None:
        await self._db(lambda session: store.authenticate(session=session, conversation_id=conversation_id, token=token))

    async def process_backlog(self) -> int:
        """Answer messages that waited for Rasa; returns how many conversations were tried."""
        waiting = await self._db(lambda session: store.conversations_with_pending(session=session))
        # Several conversations at once (after an outage there may be many), a few at a
        # time so that a Rasa that has just come back is not flooded.
        slots = asyncio.Semaphore(BACKLOG_CONCURRENCY)

        async def answer(conversation_id: str) -> None:
            async with slots, self._locks.hold(conversation_id, wait=False) as held:
                if held:  # else another coroutine or worker is on it
                    await self._process(conversation_id)

        await asyncio.gather(*(answer(conversation_id) for conversation_id in waiting))
        return len(waiting)

    # -- processing -----------------------------------------------------------------

    async def _process(self, conversation_id: str) -> None:
        """Send the conversation's pending messages to the bot in order; stop if it is down."""
        while True:
            pending = await self._db(
                lambda session: [
                    (m.id, m.text) for m in store.pending_inbound(session=session, conversation_id=conversation_id)
                ]
            )
            if not pending:
                return
            message_id, text = pending[0]
            if not await self._process_one(conversation_id, message_id, text):
                return
            self._notifier.notify(conversation_id)

    async def _process_one(self, conversation_id: str, message_id: int, text: str) -> bool:
        snapshot = await self._db(
            lambda session: _snapshot(store.get_conversation(session=session, conversation_id=conversation_id))
        )
        state, language, pinned, has_replies = snapshot
        if text.strip().startswith(queue.SATISFACTION_PAYLOAD):
            await self._satisfaction(conversation_id, message_id, text, language)
            return True
        if text.strip().startswith(LANGUAGE_COMMAND):
            await self._store_replies(conversation_id, message_id, self._language_command(text, language), language)
            return True
        if state == queue.LEAVE_OFFER:
            if await self._answer_leave_offer(conversation_id, message_id, text, language):
                return True
            state = queue.BOT
        if state in queue.ROUTED_STATES:
            await self._forward_to_counsellor(conversation_id, message_id, text, language)
            return True

        if not pinned:
            language = detect_language(text, fallback=language)
        # Words that mean danger go to the bot as the safety intent itself, whatever NLU would say.
        metadata = {"language": language}
        if self._safety_terms.matches(text):
            message, metadata["written"] = SAFETY_PAYLOAD, text
        else:
            message = text
        try:
            replies = await self._rasa.turn(conversation_id, message, metadata)
        except UpstreamUnavailable as error:
            logger.warning("conversation %s: %s; message kept for later", conversation_id, error)
            await self._one_moment(conversation_id, message_id, language)
            return False
        rendered = [] if has_replies else [render_key(self._messages, "bot.privacy_notice", language)]
        if replies:
            rendered += [render_reply(self._messages, reply, language) for reply in replies]
        else:
            # Rasa answered nothing: its action server failed. Say so and offer a person.
            failed = render_key(self._messages, "bot.lookup_failed", language)
            failed.payload["buttons"] = self._yes_no(language)
            rendered.append(failed)
        await self._store_replies(conversation_id, message_id, rendered, language)
        return True

    def _yes_no(self, language: str) -> list[dict[str, str]]:
        return [
            {"title": self._messages.text("button.yes", language), "payload": "/affirm"},
            {"title": self._messages.text("button.no", language), "payload": "/deny"},
        ]

    def _language_command(self, text: str, current: str) -> list[Rendered]:
        code = text.strip()[len(LANGUAGE_COMMAND) :].strip().lower()
        if code not in SUPPORTED_LANGUAGES:
            return [
                render_key(self._messages, "bot.language_unsupported", current, {"languages": ", ".join(SUPPORTED_LANGUAGES)})
            ]
        changed = render_key(
            self._messages, "bot.language_changed", code, {"language_name": self._messages.text(f"language.name.{code}", code)}
        )
        changed.effects = {"set_language": code}
        return [changed]

    async def _satisfaction(self, conversation_id: str, message_id: int, text: str, language: str) -> None:
        """The rating buttons at close: stored on the ticket, thanked for, never sent on."""
        score = queue.parse_satisfaction(text)

        def save(session: Session) -> None:
            if not store.claim_pending(session=session, message_id=message_id, status=store.PROCESSED):
                return  # answered already (another worker)
            conversation = store.get_conversation(session=session, conversation_id=conversation_id)
            recorded = score is not None and queue.record_satisfaction(
                session=session, conversation_id=conversation_id, score=score, now=self._clock()
            )
            if recorded:
                self._add_replies(session, conversation, message_id, [render_key(self._messages, "bot.feedback_thanks", language)])

        await self._db(save)
        self._notifier.notify_queue()

    async def _answer_leave_offer(self, conversation_id: str, message_id: int, text: str, language: str) -> bool:
        """The user's answer to "leave a message?": consent opens an offline ticket; a no,
        or anything else, returns the conversation to the bot (False: let the bot answer)."""
        answer = text.strip()
        consent = answer in (queue.LEAVE_MESSAGE_PAYLOAD, "/affirm")

        def decide(session: Session) -> bool:
            if (consent or answer == "/deny") and not store.claim_pending(
                session=session, message_id=message_id, status=store.PROCESSED
            ):
                return True  # answered already (another worker)
            conversation = store.get_conversation(session=session, conversation_id=conversation_id)
            conversation.state = queue.BOT
            if not consent and answer != "/deny":
                return False
            if consent:
                offer = session.scalar(
                    select(Message)
                    .where(Message.conversation_id == conversation_id, Message.author == "bot")
                    .order_by(Message.seq.desc())
                    .limit(1)
                )
                summary = dict((offer.payload or {}).get("handover") or {}) if offer is not None else {}
                queue.open_ticket(
                    session=session,
                    conversation=conversation,
                    summary={**summary, "consent": True},
                    now=self._clock(),
                    config=self._queue_config,
                    offline=True,
                )
                logger.info("conversation %s left a message for a counsellor", conversation_id)
                key = "queue.offline_saved"
            else:
                key = "queue.offline_declined"
            self._add_replies(session, conversation, message_id, [render_key(self._messages, key, language)])
            return True

        handled = await self._db(decide)
        if handled and consent:
            self._notifier.notify_queue()
        return handled

    async def _forward_to_counsellor(self, conversation_id: str, message_id: int, text: str, language: str) -> None:
        """The message goes to the counsellor at once. Danger words get the emergency numbers
        in the same reply; Rasa's NLU, which also knows danger phrased without them, checks
        the message afterwards (a parse waits behind other conversations' bot turns: seconds
        under load), and its emergency numbers follow on the conversation's stream."""
        keyword_safety = self._safety_terms.matches(text)

        def forward(session: Session) -> bool:
            if not store.claim_pending(session=session, message_id=message_id, status=store.FORWARDED):
                return False  # forwarded already (another worker)
            conversation = store.get_conversation(session=session, conversation_id=conversation_id)
            if keyword_safety:
                self._add_replies(session, conversation, message_id, [self._safety_message(language)])
            return True

        if not await self._db(forward):
            return
        if keyword_safety:
            self._notifier.notify_queue()  # the ticket moved to the front
        else:
            self._in_background(self._nlu_safety_check(conversation_id, message_id, text, language))

    def _safety_message(self, language: str) -> Rendered:
        message = render_key(self._messages, "bot.safety", language, self._safety_contacts)
        message.effects = {"safety": True}
        return message

    async def _nlu_safety_check(self, conversation_id: str, message_id: int, text: str, language: str) -> None:
        try:
            intent = (await self._rasa.parse(text)).get("intent") or {}
        except UpstreamUnavailable:
            logger.warning("conversation %s: NLU safety check skipped, Rasa unavailable", conversation_id)
            return
        if intent.get("name") != "safety" or float(intent.get("confidence", 0)) < SAFETY_CONFIDENCE:
            return

        def add(session: Session) -> None:
            conversation = store.get_conversation(session=session, conversation_id=conversation_id)
            self._add_replies(session, conversation, message_id, [self._safety_message(language)])

        await self._db(add)
        self._notifier.notify(conversation_id)
        self._notifier.notify_queue()

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        """Finish the checks still running (at shutdown; they take one Rasa parse each)."""
        if self._background:
            await asyncio.wait(set(self._background), timeout=BACKGROUND_GRACE_SECONDS)

    async def _one_moment(self, conversation_id: str, message_id: int, language: str) -> None:
        def add(session: Session) -> None:
            conversation = store.get_conversation(session=session, conversation_id=conversation_id)
            inbound = session.get(Message, message_id)
            still_pending = inbound is not None and inbound.status == store.PENDING
            if still_pending and not store.replies_to(session=session, message_id=message_id):
                self._add_replies(session, conversation, message_id, [render_key(self._messages, "bot.one_moment", language)])

        await self._db(add)

    async def _store_replies(self, conversation_id: str, message_id: int, rendered: list[Rendered], language: str) -> None:
        def save(session: Session) -> bool:
            # Claimed first: of two workers that both got an answer, only one stores it.
            if not store.claim_pending(session=session, message_id=message_id, status=store.PROCESSED):
                logger.warning("conversation %s: message %s answered already; this answer dropped", conversation_id, message_id)
                return False
            conversation = store.get_conversation(session=session, conversation_id=conversation_id)
            if not conversation.language_pinned:
                conversation.language = language
            before = conversation.state
            self._add_replies(session, conversation, message_id, rendered)
            return conversation.state != before

        if await self._db(save):
            self._notifier.notify_queue()

    def _handover_offer(self, session: Session, conversation: Conversation, item: Rendered, now: datetime) -> None:
        """Before a handover message is stored: when nobody could chat live, the message
        becomes the offer to leave one (with its consent text), and no ticket opens yet."""
        if "handover" not in item.effects or conversation.state != queue.BOT:
            return
        live = queue.availability(session=session, language=conversation.language, now=now, config=self._queue_config)
        if live == "live":
            return
        offer = render_key(self._messages, "queue.offline_offer", conversation.language)
        item.text = offer.text
        item.payload = {
            **offer.payload,
            "buttons": [
                {"title": self._messages.text("button.leave_message", conversation.language), "payload": queue.LEAVE_MESSAGE_PAYLOAD},
                {"title": self._messages.text("button.no", conversation.language), "payload": "/deny"},
            ],
            "handover": dict(item.effects.pop("handover")),
            "availability": live,
        }
        conversation.state = queue.LEAVE_OFFER

    def _add_replies(self, session: Session, conversation: Conversation, message_id: int, rendered: list[Rendered]) -> None:
        now = self._clock()
        for item in rendered:
            self._handover_offer(session, conversation, item, now)
            store.add_message(
                session=session,
                conversation=conversation,
                direction="out",
                author="bot",
                text=item.text,
                payload=item.payload,
                reply_to=message_id,
                now=now,
            )
            self._apply_effects(session, conversation, item.effects, now)

    def _apply_effects(self, session: Session, conversation: Conversation, effects: dict[str, Any], now: datetime) -> None:
        if "set_language" in effects:
            conversation.language = effects["set_language"]
            conversation.language_pinned = True
        if effects.get("safety"):
            queue.flag_safety(session=session, conversation_id=conversation.id, now=now)
        if "handover" in effects and conversation.state == queue.BOT:
            summary = dict(effects["handover"])
            queue.open_ticket(session=session, conversation=conversation, summary=summary, now=now, config=self._queue_config)
            logger.info("conversation %s handed over (%s)", conversation.id, summary.get("reason"))


def _snapshot(conversation: Conversation) -> tuple[str, str, bool, bool]:
    return (conversation.state, conversation.language, conversation.language_pinned, conversation.next_seq > 2)
