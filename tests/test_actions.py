"""Custom actions in the real action server process, called as Rasa calls them: the
paths where NLU's intent is not the whole story (unsure, a language named inside a
situation, danger together with a need)."""

from __future__ import annotations

from typing import Any

from tests.bot_stack import BotStack


def keys(replies: list[dict[str, Any]]) -> list[str]:
    return [str(reply.get("key", "")) for reply in replies]


RECOMMENDING = {"bot.recommend_intro", "bot.ask_age", "bot.ask_municipality"}  # services, or first a question that changes them


def services(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [card for reply in replies for card in reply.get("services", [])]


def test_an_unsure_situation_still_gets_services(bot_stack: BotStack) -> None:
    replies = bot_stack.run_action(
        "action_fallback", "lost my job at the warehouse last month and the money is running out, what should I do now",
        intent="nlu_fallback",
    )  # fmt: skip
    assert "bot.not_understood" not in keys(replies)
    assert RECOMMENDING & set(keys(replies))


def test_an_unsure_off_topic_message_is_still_not_understood(bot_stack: BotStack) -> None:
    replies = bot_stack.run_action(
        "action_fallback", "which football team won the cup final in extra time yesterday evening", intent="nlu_fallback"
    )
    assert keys(replies)[0] == "bot.not_understood" and services(replies) == []


def test_a_short_unsure_message_is_not_searched(bot_stack: BotStack) -> None:
    assert keys(bot_stack.run_action("action_fallback", "hmm ok maybe", intent="nlu_fallback"))[0] == "bot.not_understood"


def test_a_situation_naming_a_language_is_not_a_language_switch(bot_stack: BotStack) -> None:
    replies = bot_stack.run_action(
        "action_change_language", "I moved here for work and would like to learn Finnish, are there evening courses for adults",
        intent="change_language",
    )  # fmt: skip
    assert "bot.language_changed" not in keys(replies)
    assert all("set_language" not in reply.get("effects", {}) for reply in replies)
    assert RECOMMENDING & set(keys(replies))


def test_a_short_request_switches_the_language(bot_stack: BotStack) -> None:
    replies = bot_stack.run_action("action_change_language", "can you speak Arabic?", intent="change_language")
    assert keys(replies) == ["bot.language_changed"] and replies[0]["effects"] == {"set_language": "ar"}


def test_danger_gets_the_numbers_first_then_services_then_a_person(bot_stack: BotStack) -> None:
    # The API sends danger words as the /safety payload and the words in the metadata.
    written = "I am homeless and need help with housing, I have been sleeping outside"
    replies = bot_stack.run_action("action_safety", "/safety", intent="safety", metadata={"written": written})
    assert keys(replies)[0] == "bot.safety" and keys(replies)[-1] == "bot.offer_human"
    assert keys(replies)[1:-1] == ["bot.recommend_intro"] and 1 <= len(services(replies)) <= 3


def test_danger_from_a_button_gets_the_numbers_and_a_person(bot_stack: BotStack) -> None:
    replies = bot_stack.run_action("action_safety", "/safety", intent="safety", language="fi")
    assert keys(replies) == ["bot.safety", "bot.offer_human"]


def test_a_question_about_a_service_answers_it_and_names_the_next_ones(bot_stack: BotStack) -> None:
    replies = bot_stack.run_action("action_answer_info", "where can I learn Finnish as an adult immigrant", intent="ask_info")
    assert keys(replies)[0] == "bot.info_intro" and len(replies[0]["services"]) == 1
    related = [reply for reply in replies if reply.get("key") == "bot.info_related"]
    assert len(related) == 1 and 1 <= len(related[0]["services"]) <= 2
    ids = [card["id"] for card in services(replies)]
    assert len(ids) == len(set(ids))  # the answered service is not repeated
