"""The only place that calls `dispatcher.utter_message`: every reply is a message key
with parameters, optional buttons, service cards and effects for the API."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

DEFAULT_LANGUAGE = "fi"
SHORT_WORDS = 8
SHORT_CHARACTERS = 60
YES = {"title_key": "button.yes", "payload": "/affirm"}
NO = {"title_key": "button.no", "payload": "/deny"}
SKIP = {"title_key": "button.skip", "payload": "/deny"}


def say(
    dispatcher: CollectingDispatcher,
    key: str,
    *,
    buttons: list[dict[str, str]] | None = None,
    services: list[dict[str, Any]] | None = None,
    effects: dict[str, Any] | None = None,
    **params: Any,
) -> None:
    message: dict[str, Any] = {"key": key, "params": params}
    if buttons:
        message["buttons"] = buttons
    if services:
        message["services"] = services
    if effects:
        message["effects"] = effects
    dispatcher.utter_message(json_message=message)


def say_text(dispatcher: CollectingDispatcher, text: str) -> None:
    """Text taken from the catalogue (already in the user's language or with a note)."""
    dispatcher.utter_message(json_message={"text": text})


def user_language(tracker: Tracker) -> str:
    """The language the API detected for the latest message (sent as metadata)."""
    event = tracker.get_last_event_for("user") or {}
    metadata = event.get("metadata") or {}
    return str(metadata.get("language") or DEFAULT_LANGUAGE)


def latest_text(tracker: Tracker) -> str:
    """What the user wrote; when the API sent an intent payload in its place (danger
    words become `/safety`), the words themselves come in the metadata."""
    event = tracker.get_last_event_for("user") or {}
    written = (event.get("metadata") or {}).get("written")
    return str(written or tracker.latest_message.get("text") or "")


def is_short(text: str) -> bool:
    """A request or an answer ("can you speak Arabic?", "olen 24"), not a situation."""
    return len(text.split()) <= SHORT_WORDS and len(text) <= SHORT_CHARACTERS


def latest_intent(tracker: Tracker) -> str:
    return str((tracker.latest_message.get("intent") or {}).get("name") or "")
