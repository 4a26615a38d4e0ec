"""Turn the bot's replies (message keys from Rasa) into text in the conversation's language."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from knowledge_base.i18n import Catalogue


@dataclass
class Rendered:
    text: str
    payload: dict[str, Any]
    effects: dict[str, Any] = field(default_factory=dict)


def render_key(messages: Catalogue, key: str, language: str, params: dict[str, Any] | None = None) -> Rendered:
    return Rendered(messages.text(key, language, **(params or {})), {"key": key})


def render_reply(messages: Catalogue, reply: dict[str, Any], language: str) -> Rendered:
    """One item of Rasa's REST channel answer: {"custom": {...}} or {"text": ...}."""
    custom = reply.get("custom")
    if not isinstance(custom, dict):
        return Rendered(str(reply.get("text", "")), {})
    effects = dict(custom.get("effects") or {})
    # A language switch answers in the new language.
    language = effects.get("set_language", language)
    if "key" in custom:
        rendered = render_key(messages, custom["key"], language, custom.get("params"))
    else:
        rendered = Rendered(str(custom.get("text", "")), {})
    buttons = [
        {"title": messages.text(b["title_key"], language) if "title_key" in b else b.get("title", ""), "payload": b["payload"]}
        for b in custom.get("buttons") or []
    ]
    if buttons:
        rendered.payload["buttons"] = buttons
    if custom.get("services"):
        rendered.payload["services"] = custom["services"]
    # Which intent and action produced it: kept for the outcome figures (actions/tagging.py).
    for tag in ("intent", "action", "municipality", "age_band"):
        if custom.get(tag):
            rendered.payload[tag] = str(custom[tag])
    rendered.effects = effects
    return rendered
