"""Lifespan pieces of the channels: the Telegram channel (when a bot token is set)
and the sweep that ends idle web conversations."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from telegram.error import TelegramError

from api.chat import ChatService
from api.notifier import Notifier
from api.routes.chat import TOKEN_HEADER
from api.telegram import TelegramChannel
from knowledge_base.conversation_end import end_idle
from knowledge_base.clicks import ClickLinks
from knowledge_base.i18n import Catalogue
from knowledge_base.settings import Settings

logger = logging.getLogger(__name__)
IDLE_SWEEP_SECONDS = 60.0


def allow_widget_origins(app: FastAPI, settings: Settings) -> None:
    """CORS for the widget on other sites: only the configured origins, no cookies,
    and the conversation token header readable by the widget."""
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.widget_allowed_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type", TOKEN_HEADER, "Last-Event-ID"],
        expose_headers=[TOKEN_HEADER],
        allow_credentials=False,
        max_age=600,
    )


async def end_idle_web_conversations(sessions: sessionmaker[Session], idle_minutes: float) -> None:
    """Every minute: web conversations idle longer than the setting are ended (their tokens die)."""
    while True:
        await asyncio.sleep(IDLE_SWEEP_SECONDS)

        def sweep() -> int:
            with sessions() as session:
                count = end_idle(session=session, channel="web", idle=timedelta(minutes=idle_minutes), now=datetime.now(UTC))
                session.commit()
                return count

        try:
            ended = await run_in_threadpool(sweep)
        except Exception:  # noqa: BLE001 - the sweep must outlive one bad round; the error is logged
            logger.exception("idle conversation sweep failed")
            continue
        if ended:
            logger.info("ended %d idle web conversations", ended)


async def start_telegram(
    settings: Settings, sessions: sessionmaker[Session], chat: ChatService, notifier: Notifier, links: ClickLinks
) -> TelegramChannel | None:
    """The Telegram channel when a bot token is set. If Telegram cannot be reached at
    start-up the API still starts (the web widget must not depend on Telegram); the
    error is logged and the channel stays off until the next start."""
    if not settings.telegram_bot_token.get_secret_value():
        return None
    channel = TelegramChannel(
        settings=settings, sessions=sessions, chat=chat, notifier=notifier, messages=Catalogue.load(), links=links
    )
    try:
        await channel.start()
    except TelegramError as error:
        logger.error("Telegram channel not started: %s", type(error).__name__)
        with contextlib.suppress(TelegramError):
            await channel.app.shutdown()  # close its HTTP clients
        return None
    return channel
