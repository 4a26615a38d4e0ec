"""Delivers the outbox of Telegram conversations: bot answers and counsellor replies
alike. Rate limits (429) wait the time Telegram asks for; server and network errors
back off exponentially; a permanent refusal (blocked bot, bad request) or the last
attempt parks the message as a dead letter for counsellors to see."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import NetworkError, RetryAfter, TelegramError

from api.chat import through_click_route
from api.telegram_format import to_telegram
from api.transactions import in_transaction
from knowledge_base import outbox
from knowledge_base.clicks import ClickLinks
from knowledge_base.i18n import Catalogue
from knowledge_base.models import Conversation, Message, OutboxItem
from knowledge_base.telegram_chats import CHANNEL

logger = logging.getLogger(__name__)
T = TypeVar("T")


def retry_after_seconds(error: RetryAfter) -> float:
    # A timedelta with PTB_TIMEDELTA=true (set by the channel), else an int of seconds.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value: Any = error.retry_after
    return float(value.total_seconds() if isinstance(value, timedelta) else value)


class OutboxSender:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        bot: Bot,
        messages: Catalogue,
        max_attempts: int,
        backoff_seconds: float,
        links: ClickLinks,
        link_base: str = "",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self._bot = bot
        self._messages = messages
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._links = links
        self._link_base = link_base.rstrip("/")
        self._clock = clock

    async def _db(self, work: Callable[[Session], T]) -> T:
        return await in_transaction(self._sessions, work)

    async def deliver_round(self) -> int:
        """Queue new outbound messages, then try every due one once; returns how many were sent."""

        def take(session: Session) -> list[tuple[int, int, str, int, str, dict[str, Any], str]]:
            now = self._clock()
            outbox.collect(session=session, channel=CHANNEL, now=now)
            work = []
            for item in outbox.due(session=session, channel=CHANNEL, now=now):
                message = session.get(Message, item.message_id)
                conversation = session.get(Conversation, message.conversation_id) if message else None
                assert message is not None and conversation is not None
                payload = dict(message.payload)
                if self._link_base and payload.get("services"):
                    payload["services"] = [self._counted_link(card, conversation.id) for card in payload["services"]]
                work.append((item.id, item.attempts, item.chat_ref, message.id, message.text, payload, conversation.language))
            return work

        sent = 0
        for item_id, attempts, chat_ref, message_id, text, payload, language in await self._db(take):
            error, retry_in = await self._send(chat_ref, message_id, text, payload, language, attempts)
            sent += error is None
            await self._db(lambda session: self._record(session, item_id, error, retry_in))
        return sent

    def _counted_link(self, card: dict[str, Any], conversation_id: str) -> dict[str, Any]:
        routed = through_click_route(card, conversation_id, self._links)
        if routed is card:
            return card
        return {**routed, "url": self._link_base + routed["url"]}

    async def _send(
        self, chat_ref: str, message_id: int, text: str, payload: dict[str, Any], language: str, attempts: int
    ) -> tuple[str | None, timedelta | None]:
        """Send once: (None, None) when sent, else (error, wait before retrying or None if retrying cannot help)."""
        rendered = to_telegram(message_id=message_id, text=text, payload=payload, messages=self._messages, language=language)
        markup = None
        if rendered.keyboard:
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton(title, callback_data=data) for title, data in row] for row in rendered.keyboard]
            )
        try:
            await self._bot.send_message(
                chat_id=int(chat_ref), text=rendered.html, parse_mode=ParseMode.HTML, reply_markup=markup,
                disable_web_page_preview=True,
            )  # fmt: skip
        except RetryAfter as exc:  # 429: wait as long as Telegram says
            return f"RetryAfter: {exc}", timedelta(seconds=retry_after_seconds(exc))
        except NetworkError as exc:  # 5xx, timeouts, connection errors: back off and try again
            return f"{type(exc).__name__}: {exc}", timedelta(seconds=self._backoff * 2**attempts)
        except TelegramError as exc:  # 400, 403 (the user blocked the bot): retrying cannot help
            return f"{type(exc).__name__}: {exc}", None
        return None, None

    def _record(self, session: Session, item_id: int, error: str | None, retry_in: timedelta | None) -> None:
        item = session.get(OutboxItem, item_id)
        assert item is not None
        now = self._clock()
        if error is None:
            outbox.mark_sent(item=item, now=now)
            return
        outbox.mark_failed(item=item, error=error, now=now, retry_in=retry_in, max_attempts=self._max_attempts)
        if item.status == outbox.DEAD:
            logger.error("outbox item %s (chat message %s) parked as dead letter: %s", item.id, item.message_id, error)
        else:
            logger.warning("outbox item %s: attempt %s failed (%s); retry in %s", item.id, item.attempts, error, retry_in)
