"""Switch the reply language when the user asks ("can you speak Arabic?")."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.kb import get_kb
from actions.replies import is_short, latest_text, say
from actions.search import recommend_if_found
from knowledge_base.i18n import Catalogue
from knowledge_base.language import SUPPORTED_LANGUAGES


def requested_language(text: str, messages: Catalogue) -> str | None:
    """The supported language the text names, in any of the UI languages ("arabiaa", "عربي")."""
    lowered = text.casefold()
    best: tuple[int, str] | None = None
    for code in SUPPORTED_LANGUAGES:
        for ui_language in messages.languages():
            name = (messages.template(f"language.name.{code}", ui_language) or "").casefold()
            stem = name.split("(")[0].strip()
            # Finnish and Estonian inflect names ("arabiaa", "venäjäksi"): match a stem.
            stem = stem[: max(4, len(stem) - 2)] if len(stem) > 5 else stem
            if stem and stem in lowered and (best is None or len(stem) > best[0]):
                best = (len(stem), code)
    return best[1] if best else None


class ActionChangeLanguage(Action):
    def name(self) -> str:
        return "action_change_language"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        messages = get_kb().messages
        text = latest_text(tracker)
        if not is_short(text):
            # A situation that names a language ("I'd like to learn Finnish, is there a course?").
            recommended = recommend_if_found(dispatcher, tracker, text)
            if recommended is not None:
                return recommended
        code = requested_language(text, messages)
        if code is None:
            say(dispatcher, "bot.language_unsupported", languages=", ".join(SUPPORTED_LANGUAGES))
            return []
        say(
            dispatcher,
            "bot.language_changed",
            language_name=messages.text(f"language.name.{code}", code),
            effects={"set_language": code},
        )
        return []
