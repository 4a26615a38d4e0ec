"""The Telegram channel: python-telegram-bot's Application built with `.updater(None)`
and run inside the API's lifespan. Updates arrive by webhook (api/routes/telegram.py)
or by long polling (here), both onto the Application's update queue. Handlers only
pull out chat, text and language and go through ChatService like the web widget;
everything the conversation says back, bot or counsellor, leaves through the outbox
(api/telegram_outbox.py).

Only the worker holding the 'telegram' lease polls and delivers, however many API
workers run; webhook updates are handled by whichever worker receives them."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from api.chat import ChatService
from api.notifier import Notifier
from api.telegram_format import parse_callback
from api.telegram_outbox import OutboxSender
from api.transactions import in_transaction
from knowledge_base import conversations as store
from knowledge_base import leases
from knowledge_base.clicks import ClickLinks
from knowledge_base.i18n import Catalogue
from knowledge_base.language import SUPPORTED_LANGUAGES
from knowledge_base.models import Conversation, Message
from knowledge_base.settings import Settings
from knowledge_base.telegram_chats import open_conversation

logger = logging.getLogger(__name__)
T = TypeVar("T")

LEASE = "telegram"
POLL_TIMEOUT_SECONDS = 10
ALLOWED_UPDATES = ["message", "callback_query"]
HUMAN_PAYLOAD = "/request_human"
DEFAULT_LANGUAGE = "fi"
TelegramApp = Application[Any, Any, Any, Any, Any, Any]
Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def quiet_http_logs() -> None:
    """Bot API URLs contain the bot token: httpx logs every request URL at INFO and
    python-telegram-bot logs its base URL at DEBUG, so neither may log below WARNING/INFO."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("telegram").setLevel(logging.INFO)


class FloodGate:
    """At most `limit` messages per chat in a sliding window of `seconds`."""

    def __init__(self, limit: int, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._seconds = seconds
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._warned: dict[str, float] = {}

    def allow(self, chat: str) -> bool:
        now = self._clock()
        times = self._seen.setdefault(chat, deque())
        while times and times[0] <= now - self._seconds:
            times.popleft()
        if len(times) >= self._limit:
            return False
        times.append(now)
        return True

    def should_warn(self, chat: str) -> bool:
        """Warn once per window, not once per flooded message."""
        now = self._clock()
        if now - self._warned.get(chat, -self._seconds - 1) > self._seconds:
            self._warned[chat] = now
            return True
        return False


class TelegramChannel:
    def __init__(
        self,
        *,
        settings: Settings,
        sessions: sessionmaker[Session],
        chat: ChatService,
        notifier: Notifier,
        messages: Catalogue,
        links: ClickLinks,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        quiet_http_logs()
        # Opt in to PTB 22's future durations (timedelta): the int form warns on every 429.
        os.environ.setdefault("PTB_TIMEDELTA", "true")
        self._settings = settings
        self._sessions = sessions
        self._chat = chat
        self._notifier = notifier
        self._messages = messages
        self._clock = clock
        self._secret = settings.telegram_bot_token.get_secret_value().encode("utf-8")
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._flood = FloodGate(settings.telegram_flood_messages, settings.telegram_flood_seconds)
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        # Updates are handled concurrently across chats, in order within one chat.
        self._chat_locks: dict[str, asyncio.Lock] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.holding_lease = False
        self.app: TelegramApp = (
            Application.builder()
            .token(settings.telegram_bot_token.get_secret_value())
            .base_url(settings.telegram_api_url)
            .updater(None)
            .concurrent_updates(True)
            .build()
        )
        self._outbox = OutboxSender(
            sessions=sessions,
            bot=self.app.bot,
            messages=messages,
            max_attempts=settings.outbox_max_attempts,
            backoff_seconds=settings.outbox_backoff_seconds,
            links=links,
            link_base=settings.public_base_url,
            clock=clock,
        )
        self._install_handlers()

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        await self.app.initialize()
        await self.app.start()
        if self._settings.telegram_mode == "webhook":
            await self.app.bot.set_webhook(
                url=self._settings.telegram_webhook_url,
                secret_token=self._settings.telegram_webhook_secret or None,
                allowed_updates=ALLOWED_UPDATES,
            )
        else:
            # getUpdates is refused while a webhook is set.
            await self.app.bot.delete_webhook()
        self._tasks = [asyncio.create_task(self._keep_lease()), asyncio.create_task(self._deliver_loop())]
        if self._settings.telegram_mode == "polling":
            self._tasks.append(asyncio.create_task(self._poll_loop()))
        logger.info("telegram channel started in %s mode as @%s", self._settings.telegram_mode, self.app.bot.username)

    async def stop(self) -> None:
        # The lease and outbox loops finish their round (a database call cancelled midway
        # would leave its thread holding a connection); only the long poll is cut short.
        self._stopping.set()
        self._wake.set()
        for task in self._tasks[2:]:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.holding_lease:
            await self._db(lambda s: leases.release(session=s, name=LEASE, holder=self._holder, now=self._clock()))
        await self.app.stop()
        await self.app.shutdown()

    async def put(self, data: dict[str, Any]) -> None:
        """A webhook update onto the queue the handlers read."""
        await self.app.update_queue.put(Update.de_json(data, self.app.bot))

    def wake(self) -> None:
        self._wake.set()

    # -- background work, only in the lease holder --------------------------------------

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _keep_lease(self) -> None:
        while not self._stopping.is_set():
            try:
                self.holding_lease = await self._db(
                    lambda s: leases.acquire_lease(
                        session=s, name=LEASE, holder=self._holder, now=self._clock(), ttl=timedelta(seconds=self._settings.lease_seconds)
                    )
                )
            except Exception:  # noqa: BLE001 - keep trying; losing the database means not holding the lease
                logger.exception("telegram lease renewal failed")
                self.holding_lease = False
            await self._pause(self._settings.lease_seconds / 3)

    async def _deliver_loop(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._settings.outbox_poll_seconds)
            self._wake.clear()
            if not self.holding_lease or self._stopping.is_set():
                continue
            try:
                await self._outbox.deliver_round()
            except Exception:  # noqa: BLE001 - the loop must outlive one bad round; the error is logged
                logger.exception("telegram outbox round failed")

    async def _poll_loop(self) -> None:
        offset: int | None = None
        failures = 0
        while True:
            if not self.holding_lease:
                await asyncio.sleep(0.5)
                continue
            try:
                updates = await self.app.bot.get_updates(
                    offset=offset, timeout=POLL_TIMEOUT_SECONDS, allowed_updates=ALLOWED_UPDATES
                )
                failures = 0
            except TelegramError as error:
                failures += 1
                logger.warning("telegram getUpdates failed (%s); retrying", type(error).__name__)
                await asyncio.sleep(min(30.0, 0.5 * 2**failures))
                continue
            for update in updates:
                offset = update.update_id + 1
                await self.app.update_queue.put(update)

    # -- handlers ---------------------------------------------------------------------

    def _install_handlers(self) -> None:
        self.app.add_handler(CommandHandler("start", self._in_order(self._on_start)))
        self.app.add_handler(CommandHandler("language", self._in_order(self._on_language)))
        self.app.add_handler(CommandHandler("human", self._in_order(self._on_human)))
        self.app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, self._in_order(self._on_text)))
        self.app.add_handler(CallbackQueryHandler(self._in_order(self._on_button)))
        self.app.add_handler(MessageHandler(~filters.TEXT & filters.UpdateType.MESSAGE, self._in_order(self._on_media)))
        self.app.add_error_handler(self._on_error)

    def _in_order(self, handler: Handler) -> Handler:
        async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            if update.effective_chat is None:
                return
            async with self._chat_locks.setdefault(str(update.effective_chat.id), asyncio.Lock()):
                await handler(update, context)

        return run

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """One error handler: log it (the update id only, never message text)."""
        update_id = update.update_id if isinstance(update, Update) else None
        logger.error("telegram update %s failed", update_id, exc_info=context.error)

    async def _on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start: greet in the user's Telegram language when it is one of ours."""
        chat = self._chat_ref(update)
        conversation_id, language = await self._conversation(update, chat)
        await self._say(conversation_id, ["bot.greet", "bot.privacy_notice"], language)

    async def _on_language(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/language xx switches; /language alone offers every language as buttons."""
        if context.args:
            await self._to_chat(update, f"/language {context.args[0]}")
            return
        conversation_id, language = await self._conversation(update, self._chat_ref(update))
        buttons = [
            {"title": self._messages.text(f"language.name.{code}", code), "payload": f"/language {code}"}
            for code in SUPPORTED_LANGUAGES
        ]
        await self._say(conversation_id, ["telegram.choose_language"], language, buttons=buttons)

    async def _on_human(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._to_chat(update, HUMAN_PAYLOAD)

    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await self._to_chat(update, update.effective_message.text or "")

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An inline-keyboard press: its payload goes to the conversation as chat text."""
        query = update.callback_query
        assert query is not None
        await query.answer()
        parsed = parse_callback(query.data or "")
        if parsed is None:
            return
        message_id, index = parsed
        chat = self._chat_ref(update)

        def payload_of(session: Session) -> str | None:
            message = session.get(Message, message_id)
            conversation = session.get(Conversation, message.conversation_id) if message else None
            if message is None or conversation is None or conversation.external_ref != chat:
                return None
            buttons = message.payload.get("buttons") or []
            return str(buttons[index]["payload"]) if index < len(buttons) else None

        payload = await self._db(payload_of)
        if payload is not None:
            await self._to_chat(update, payload)

    async def _on_media(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stickers, photos, voice, documents: stored, then a polite 'text only' with a way to a person."""
        message = update.effective_message
        if message is None or message.text:
            return
        chat = self._chat_ref(update)
        conversation_id, language = await self._conversation(update, chat)
        kind = next((k for k in ("sticker", "photo", "voice", "document", "video", "audio") if getattr(message, k)), "other")

        def store_inbound(session: Session) -> None:
            conversation = store.get_conversation(session=session, conversation_id=conversation_id)
            store.add_message(
                session=session, conversation=conversation, direction="in", author="user", text="",
                payload={"kind": kind}, status=store.PROCESSED, client_message_id=f"tg:{update.update_id}", now=self._clock(),
            )  # fmt: skip

        await self._db(store_inbound)
        buttons = [{"title": self._messages.text("button.talk_to_person", language), "payload": HUMAN_PAYLOAD}]
        await self._say(conversation_id, ["telegram.text_only"], language, buttons=buttons)

    # -- helpers ------------------------------------------------------------------------

    @staticmethod
    def _chat_ref(update: Update) -> str:
        assert update.effective_chat is not None
        return str(update.effective_chat.id)

    def _token(self, chat: str) -> str:
        return hmac.new(self._secret, f"telegram:{chat}".encode(), hashlib.sha256).hexdigest()

    async def _conversation(self, update: Update, chat: str) -> tuple[str, str]:
        """The chat's open conversation (made on first contact in the user's app language)."""
        user = update.effective_user
        code = (user.language_code or "").split("-")[0].lower() if user else ""
        language = code if code in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE

        def open_(session: Session) -> tuple[str, str]:
            conversation, _ = open_conversation(
                session=session, chat_ref=chat, token=self._token(chat), language=language, now=self._clock()
            )
            return conversation.id, conversation.language

        return await self._db(open_)

    async def _to_chat(self, update: Update, text: str) -> None:
        chat = self._chat_ref(update)
        if not self._flood.allow(chat):
            if self._flood.should_warn(chat):
                conversation_id, language = await self._conversation(update, chat)
                await self._say(conversation_id, ["telegram.flood"], language)
            return
        conversation_id, _ = await self._conversation(update, chat)
        await self._chat.send(
            conversation_id=conversation_id,
            token=self._token(chat),
            text=text,
            client_message_id=f"tg:{update.update_id}",
            channel="telegram",
        )
        self.wake()

    async def _say(self, conversation_id: str, keys: list[str], language: str, buttons: list[dict[str, str]] | None = None) -> None:
        """Bot messages from the channel itself (greeting, 'text only'); the outbox delivers them."""

        def add(session: Session) -> None:
            conversation = store.get_conversation(session=session, conversation_id=conversation_id)
            for i, key in enumerate(keys):
                payload: dict[str, Any] = {"key": key}
                if buttons and i == len(keys) - 1:
                    payload["buttons"] = buttons
                store.add_message(
                    session=session, conversation=conversation, direction="out", author="bot",
                    text=self._messages.text(key, language), payload=payload, now=self._clock(),
                )  # fmt: skip

        await self._db(add)
        self._notifier.notify(conversation_id)
        self.wake()

    async def _db(self, work: Callable[[Session], T]) -> T:
        return await in_transaction(self._sessions, work)
