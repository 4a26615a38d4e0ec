"""Hand the conversation to a person, keep people safe, and recover from not understanding."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.kb import get_kb
from actions.replies import NO, YES, is_short, latest_intent, latest_text, say, user_language
from actions.search import continue_recommendation, recommend_if_found, services_for

FAILURES_BEFORE_OFFER = 2


def hand_over(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> list[EventType]:
    """Ask the API to queue the conversation for a counsellor, with what the bot learned."""
    summary = {
        "reason": reason,
        "language": user_language(tracker),
        "situation": tracker.get_slot("situation"),
        "age": tracker.get_slot("age"),
        "municipality": tracker.get_slot("municipality"),
        "recommended": tracker.get_slot("recommended") or [],
        "safety": bool(tracker.get_slot("safety_flag")),
    }
    say(dispatcher, "bot.handover_queued", effects={"handover": summary})
    return [SlotSet("offered_human", False), SlotSet("pending_question", None)]


class ActionHandover(Action):
    def name(self) -> str:
        return "action_handover"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return hand_over(dispatcher, tracker, "requested")


class ActionSafety(Action):
    """Emergency and crisis numbers first, then the offer of a person (top priority)."""

    def name(self) -> str:
        return "action_safety"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        say(dispatcher, "bot.safety", effects={"safety": True}, **get_kb().safety_contacts)
        found = services_for(dispatcher, tracker, latest_text(tracker))  # e.g. emergency housing, shelters
        say(dispatcher, "bot.offer_human", buttons=[YES, NO])
        return [*found, SlotSet("safety_flag", True), SlotSet("offered_human", True)]


class ActionFallback(Action):
    """Say what the bot can help with; after repeated failures offer a person."""

    def name(self) -> str:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        text = latest_text(tracker)
        if latest_intent(tracker) == "nlu_fallback" and not is_short(text):
            # NLU was unsure, not sure it is off-topic: a situation the catalogue covers still gets services.
            recommended = recommend_if_found(dispatcher, tracker, text)
            if recommended is not None:
                return recommended
        failures = (tracker.get_slot("failures") or 0) + 1
        say(dispatcher, "bot.not_understood")
        if failures >= FAILURES_BEFORE_OFFER:
            say(dispatcher, "bot.offer_human", buttons=[YES, NO])
            return [SlotSet("failures", failures), SlotSet("offered_human", True)]
        say(dispatcher, "bot.capabilities")
        return [SlotSet("failures", failures)]


class ActionYesNo(Action):
    """Yes or no means what the bot last asked: a person, or skipping a follow-up."""

    def name(self) -> str:
        return "action_yes_no"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        yes = latest_intent(tracker) == "affirm"
        if tracker.get_slot("offered_human"):
            if yes:
                return hand_over(dispatcher, tracker, "offered")
            say(dispatcher, "bot.anything_else")
            return [SlotSet("offered_human", False)]
        pending = tracker.get_slot("pending_question")
        if pending:
            if yes:  # "yes" is no answer to "how old are you?": ask again
                say(dispatcher, f"bot.ask_{pending}")
                return []
            return continue_recommendation(
                dispatcher,
                tracker,
                situation=tracker.get_slot("situation") or "",
                age=tracker.get_slot("age"),
                municipality=tracker.get_slot("municipality"),
                asked=list(tracker.get_slot("asked") or []),
            )
        say(dispatcher, "bot.anything_else")
        return []
