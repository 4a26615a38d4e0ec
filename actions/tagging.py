"""Tag every reply of a custom action with the intent it answered, the action's name and
the municipality code and age band the user gave, so the API stores them with the bot's
message and the outcome figures need not ask Rasa again (one place, not every `say`)."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk.executor import ActionExecutor, ActionExecutorRunResult, CollectingDispatcher

from knowledge_base.outcome_rules import age_band


def latest_intent_of(action_call: dict[str, Any]) -> str:
    latest = (action_call.get("tracker") or {}).get("latest_message") or {}
    return str((latest.get("intent") or {}).get("name") or "")


def situation_of(action_call: dict[str, Any]) -> dict[str, str]:
    """The municipality code and the age band the user gave (the band, never the age)."""
    slots = (action_call.get("tracker") or {}).get("slots") or {}
    found: dict[str, str] = {}
    if isinstance(slots.get("municipality"), str) and slots["municipality"]:
        found["municipality"] = slots["municipality"]
    if isinstance(slots.get("age"), int | float):
        band = age_band(int(slots["age"]))
        if band:
            found["age_band"] = band
    return found


def tag_responses(
    responses: list[dict[str, Any]], intent: str, action: str, situation: dict[str, str] | None = None
) -> None:
    for response in responses:
        custom = response.get("custom")
        if isinstance(custom, dict) and custom:
            custom.setdefault("intent", intent)
            custom.setdefault("action", action)
            for key, value in (situation or {}).items():
                custom.setdefault(key, value)


class TaggingExecutor(ActionExecutor):
    async def run(
        self,
        action_call: dict[str, Any],
        sink: asyncio.Queue[Any] | None = None,
        dispatcher: CollectingDispatcher | None = None,
    ) -> ActionExecutorRunResult | None:
        result = await super().run(action_call, sink, dispatcher)
        if result is not None:
            tag_responses(
                result.responses,
                latest_intent_of(action_call),
                str(action_call.get("next_action") or ""),
                situation_of(action_call),
            )
        return result
