"""A stored message as a Telegram message: HTML with every text escaped (service
texts are full of characters that break Markdown), service cards as formatted
blocks, buttons as an inline keyboard whose callback data points back to the message."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from knowledge_base.i18n import Catalogue

MAX_CHARS = 4096  # Telegram's limit for one message
CALLBACK_PREFIX = "b"
CONTACT_FIELDS = ("phone", "email", "address", "hours")


@dataclass(frozen=True)
class TelegramText:
    html: str
    # rows of (title, callback data)
    keyboard: list[list[tuple[str, str]]]


def callback_data(message_id: int, index: int) -> str:
    """Telegram allows 64 bytes of callback data: the payload itself is looked up again."""
    return f"{CALLBACK_PREFIX}:{message_id}:{index}"


def parse_callback(data: str) -> tuple[int, int] | None:
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != CALLBACK_PREFIX or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    return int(parts[1]), int(parts[2])


def _safe_url(url: Any) -> str | None:
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def service_card(card: dict[str, Any], messages: Catalogue, language: str) -> str:
    lines = [f"<b>{html.escape(str(card.get('name', '')))}</b>"]
    lines += [f"• {html.escape(str(reason))}" for reason in card.get("why") or []]
    contact = card.get("contact") or {}
    for field in CONTACT_FIELDS:
        value = contact.get(field)
        if isinstance(value, str) and value:
            lines.append(html.escape(messages.text(f"bot.contact_{field}", language, **{field: value})))
    url = _safe_url(card.get("url")) or _safe_url(contact.get("url"))
    if url:
        label = html.escape(messages.text("widget.service_link", language))
        lines.append(f'<a href="{html.escape(url, quote=True)}">{label}</a>')
    return "\n".join(lines)


def to_telegram(*, message_id: int, text: str, payload: dict[str, Any], messages: Catalogue, language: str) -> TelegramText:
    parts = [html.escape(text)] if text else []
    parts += [service_card(card, messages, language) for card in payload.get("services") or []]
    body = "\n\n".join(parts) or html.escape(messages.text("bot.one_moment", language))
    if len(body) > MAX_CHARS:
        # Cut on a line boundary so no HTML tag is left open (each tag sits on one line).
        body = body[:MAX_CHARS].rsplit("\n", 1)[0]
    keyboard = [[(str(b.get("title", "")), callback_data(message_id, i))] for i, b in enumerate(payload.get("buttons") or [])]
    return TelegramText(body, keyboard)
