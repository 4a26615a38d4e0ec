"""Tag every reply of a custom action with the intent it answered and the action's name,
so the API stores them with the bot's message and the outcome figures can count
intents without asking Rasa again (one place, not every `say` call)."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk.executor import ActionExecutor, ActionExecutorRunResult, CollectingDispatcher


def latest_intent_of(action_call: dict[str, Any]) -> str:
    latest = (action_call.get("tracker") or {}).get("latest_message") or {}
    return str((latest.get("intent") or {}).get("name") or "")


def tag_responses(responses: list[dict[str, Any]], intent: str, action: str) -> None:
    for response in responses:
        custom = response.get("custom")
        if isinstance(custom, dict) and custom:
            custom.setdefault("intent", intent)
            custom.setdefault("action", action)


class TaggingExecutor(ActionExecutor):
    async def run(
        self,
        action_call: dict[str, Any],
        sink: asyncio.Queue[Any] | None = None,
        dispatcher: CollectingDispatcher | None = None,
    ) -> ActionExecutorRunResult | None:
        result = await super().run(action_call, sink, dispatcher)
        if result is not None:
            tag_responses(result.responses, latest_intent_of(action_call), str(action_call.get("next_action") or ""))
        return result
