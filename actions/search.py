"""Recommend services for a situation, and answer questions about one service."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.kb import KnowledgeBase, get_kb
from actions.replies import NO, SKIP, YES, latest_intent, latest_text, say, say_text, user_language
from knowledge_base.contacts import contact_for
from knowledge_base.contracts import Query, SearchHit, SearchResult, ServiceRecord
from knowledge_base.errors import OpastinError
from knowledge_base.facts import extract_age

logger = logging.getLogger(__name__)

CANDIDATES = 10
RECOMMENDED = 3


def service_card(hit: SearchHit, record: ServiceRecord | None = None) -> dict[str, Any]:
    card: dict[str, Any] = {"id": hit.id, "name": hit.name, "url": hit.url, "why": hit.why, "text_language": hit.text_language}
    if record is not None:
        # "Source as of <date>", and an outdated service never shown silently (its notice is in `why`).
        card.update(source_as_of=record.imported_on, outdated=record.outdated)
        # The widget and Telegram show how to reach the service on the card itself.
        contact = contact_for(record, hit.text_language)
        card["contact"] = {k: v for k, v in vars(contact).items() if isinstance(v, str) and v}
    return card


def _record_or_none(kb: KnowledgeBase, service_id: str) -> ServiceRecord | None:
    """The record, or None when a live update removed it since the search."""
    try:
        return kb.search.record(service_id)
    except OpastinError:
        return None


def lookup_failed(dispatcher: CollectingDispatcher, error: Exception) -> list[EventType]:
    logger.warning("knowledge base lookup failed: %s", type(error).__name__)
    say(dispatcher, "bot.lookup_failed", buttons=[YES, NO])
    return [SlotSet("offered_human", True)]


def nothing_found(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """No fitting service: count a failure and offer a person right away."""
    say(dispatcher, "bot.no_services", buttons=[YES, NO])
    return [SlotSet("failures", (tracker.get_slot("failures") or 0) + 1), SlotSet("offered_human", True)]


def _search(kb: KnowledgeBase, text: str, language: str, age: float | None, municipality: str | None) -> SearchResult:
    return kb.search.search(
        Query(text, language, age=int(age) if age is not None else None, municipality=municipality, top_k=CANDIDATES)
    )


def _follow_up(kb: KnowledgeBase, result: SearchResult, age: float | None, municipality: str | None, asked: list[str]) -> str | None:
    """The follow-up question worth asking: only one whose answer changes the result."""
    records = [kb.search.record(hit.id) for hit in result.results]
    if age is None and "age" not in asked and any(r.age_min is not None or r.age_max is not None for r in records):
        return "age"
    if municipality is None and "municipality" not in asked and any(r.area_type == "local" for r in records):
        return "municipality"
    return None


def continue_recommendation(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    *,
    situation: str,
    age: float | None,
    municipality: str | None,
    asked: list[str],
) -> list[EventType]:
    kb = get_kb()
    language = user_language(tracker)
    events: list[EventType] = [
        SlotSet("situation", situation),
        SlotSet("age", age),
        SlotSet("municipality", municipality),
        SlotSet("asked", asked),
        SlotSet("pending_question", None),
    ]
    try:
        result = _search(kb, situation, language, age, municipality)
        if not result.results:
            return events + nothing_found(dispatcher, tracker)
        question = _follow_up(kb, result, age, municipality, asked)
    except OpastinError as error:
        return events + lookup_failed(dispatcher, error)
    if question is not None:
        say(dispatcher, f"bot.ask_{question}", buttons=[SKIP])
        return events + [SlotSet("pending_question", question), SlotSet("asked", [*asked, question])]

    top = result.results[:RECOMMENDED]
    say(dispatcher, "bot.recommend_intro", services=[service_card(hit, _record_or_none(kb, hit.id)) for hit in top])
    for message in result.messages:
        say_text(dispatcher, message)
    recommended = list(dict.fromkeys([*(tracker.get_slot("recommended") or []), *(hit.id for hit in top)]))
    return events + [SlotSet("recommended", recommended), SlotSet("failures", 0), SlotSet("offered_human", False)]


def recommend_if_found(dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> list[EventType] | None:
    """A recommendation for `text` as a new situation, or None when the catalogue has
    nothing relevant (the off-topic gate decides): for messages NLU was unsure about or
    read as another intent ("I want to learn Finnish" as a language request)."""
    kb = get_kb()
    try:
        found = _search(kb, text, user_language(tracker), tracker.get_slot("age"), tracker.get_slot("municipality"))
    except OpastinError:
        return None
    if not found.results:
        return None
    age = extract_age(text)
    place = kb.municipalities.find_in_text(text)
    return continue_recommendation(
        dispatcher,
        tracker,
        situation=text,
        age=float(age) if age is not None else tracker.get_slot("age"),
        municipality=place.code if place else tracker.get_slot("municipality"),
        asked=[],
    )


def services_for(dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> list[EventType]:
    """The services that fit `text`, without follow-up questions (after the safety message)."""
    if text.startswith("/"):
        return []  # a button's payload, not words
    kb = get_kb()
    try:
        found = _search(kb, text, user_language(tracker), tracker.get_slot("age"), tracker.get_slot("municipality"))
    except OpastinError:
        return []
    top = found.results[:RECOMMENDED]
    if not top:
        return []
    say(dispatcher, "bot.recommend_intro", services=[service_card(hit, _record_or_none(kb, hit.id)) for hit in top])
    recommended = list(dict.fromkeys([*(tracker.get_slot("recommended") or []), *(hit.id for hit in top)]))
    return [SlotSet("situation", text), SlotSet("recommended", recommended)]


class ActionRecommend(Action):
    """A situation, or the answer to a follow-up question about it."""

    def name(self) -> str:
        return "action_recommend"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        kb = get_kb()
        text = latest_text(tracker)
        situation = tracker.get_slot("situation")
        pending = tracker.get_slot("pending_question")
        asked = list(tracker.get_slot("asked") or [])
        age = extract_age(text)
        found = kb.municipalities.find_in_text(text) or (
            kb.municipalities.resolve(text) if pending == "municipality" else None
        )
        municipality = found.code if found else tracker.get_slot("municipality")
        age_value = float(age) if age is not None else tracker.get_slot("age")

        if latest_intent(tracker) == "describe_situation" or (not pending and not situation):
            if latest_intent(tracker) != "describe_situation" and age is None and found is None:
                say(dispatcher, "bot.capabilities")
                return []
            situation, asked = text, []
        return continue_recommendation(
            dispatcher, tracker, situation=situation or text, age=age_value, municipality=municipality, asked=asked
        )


def answered_by_faq(dispatcher: CollectingDispatcher, kb: KnowledgeBase, text: str, language: str) -> bool:
    """A curated FAQ answer is preferred when the question matches one well."""
    match = kb.search.faq_match(text, language)
    if match is None:
        return False
    say_text(dispatcher, match.entry.answer)
    if match.entry.service_id:
        try:
            record = kb.search.record(match.entry.service_id)
        except OpastinError:
            return True  # the linked service is no longer published: the answer stands alone
        texts = record.texts.get(language) or next(iter(record.texts.values()))
        card = {"id": record.id, "name": texts.name, "url": None, "why": [], "text_language": texts.language}
        say(dispatcher, "bot.faq_related_service", services=[card])
    return True


class ActionAnswerInfo(Action):
    """A question about one service: a short answer from the public text, contacts, source."""

    def name(self) -> str:
        return "action_answer_info"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        kb = get_kb()
        language = user_language(tracker)
        try:
            if answered_by_faq(dispatcher, kb, latest_text(tracker), language):
                return [SlotSet("failures", 0)]
            result = kb.search.search(
                Query(latest_text(tracker), language, municipality=tracker.get_slot("municipality"), top_k=RECOMMENDED)
            )
            if not result.results:
                return nothing_found(dispatcher, tracker)
            hit, others = result.results[0], result.results[1:]
            record = kb.search.record(hit.id)
        except OpastinError as error:
            return lookup_failed(dispatcher, error)

        say(dispatcher, "bot.info_intro", name=hit.name, services=[service_card(hit, record)])
        if hit.summary:
            say_text(dispatcher, hit.summary)
        contact = contact_for(record, hit.text_language)
        lines = [
            ("bot.contact_phone", "phone", contact.phone),
            ("bot.contact_email", "email", contact.email),
            ("bot.contact_address", "address", contact.address),
            ("bot.contact_hours", "hours", contact.hours),
            ("bot.contact_web", "url", contact.url),
        ]
        present = [(key, name, value) for key, name, value in lines if value]
        for key, name, value in present:
            say(dispatcher, key, **{name: value})
        if not contact.phone and not contact.address:
            say(dispatcher, "bot.no_contact_details")
        if record.outdated:
            say(dispatcher, "service.outdated_notice", date=record.imported_on)
        say(dispatcher, "bot.source", source=record.organisation_name, date=record.imported_on)
        if others:
            # The question may have meant another service: the next ones as cards.
            say(dispatcher, "bot.info_related", services=[service_card(other, _record_or_none(kb, other.id)) for other in others])
        return [SlotSet("failures", 0)]
