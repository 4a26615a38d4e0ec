"""Search over the real bundled catalogue with the real model and shipped vectors.

The questions here are written for these tests (never taken from ../shared/eval)."""

from __future__ import annotations

import pytest

from knowledge_base import repository
from knowledge_base.contracts import Query
from knowledge_base.errors import InvalidQuery, UnsupportedLanguage
from knowledge_base.search import SearchService

DAY_CARE = {
    "ptv-gd:c17528ad-8b66-4df1-b157-ebb56a2da083",
    "ptv-gd:c52233a0-2089-437d-b841-ae4676399976",
    "ptv-gd:e4315af5-abcb-45a0-ab00-688e7ecd5313",
    "ptv-gd:dfbb6be2-0ae8-4996-a959-35eef6378e1b",
    "ptv-gd:f2e7c831-488e-40cb-8864-fa4afe6b18f3",
    "hel-tpr:3958",
    "hel-tpr:3159",
    "hel-tpr:3182",
    "hel-tpr:8693",
    # where a place is applied for (the dev set's daycare_application accepts these too)
    "hel-tpr:9015",  # Service guidance for early childhood and pre-primary education
    "hel-tpr:2484",  # Early education and care
    "hel-tpr:4701",  # Early education and care options
}
DEBT_COUNSELLING = "ptv-gd:9bed3c27-b1b2-4a67-9bef-8e022a4f8d3a"
OUTREACH_YOUTH_WORK = "hel-tpr:6446"


def ids(service: SearchService, text: str, lang: str | None = None, **filters: object) -> list[str]:
    return [hit.id for hit in service.search(Query(text, lang, **filters)).results]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("fi", "tarvitsen lapselleni päivähoitopaikan syksyksi"),
        ("sv", "jag behöver dagvård för mitt barn"),
        ("en", "I need a day care place for my two-year-old"),
    ],
)
def test_day_care_questions_find_day_care(search_service: SearchService, lang: str, text: str) -> None:
    result = search_service.search(Query(text, top_k=3))
    assert result.language == lang
    assert DAY_CARE & {hit.id for hit in result.results}


def test_debt_question_finds_debt_counselling(search_service: SearchService) -> None:
    assert DEBT_COUNSELLING in ids(search_service, "I have big debts and cannot pay my loans", top_k=3)


@pytest.mark.parametrize(
    ("lang", "text", "wanted"),
    [
        # The catalogue has no text in these languages; the domain lexicon carries them to it.
        ("so", "Deyn badan ayaan leeyahay, biilasha ma bixin karo. Yaa i caawin kara?", {DEBT_COUNSELLING}),
        ("ru", "У меня большие долги и кредиты, не могу платить по счетам", {DEBT_COUNSELLING}),
        ("ckb", "کوڕەکەم دوو ساڵە، شوێنێکم لە باخچەی ساوایان بۆ دەوێت", DAY_CARE),
        ("fa", "برای پسر دو ساله‌ام جایی در مهدکودک می‌خواهم", DAY_CARE),
    ],
)
def test_questions_in_languages_the_catalogue_lacks(search_service: SearchService, lang: str, text: str, wanted: set[str]) -> None:
    assert wanted & set(ids(search_service, text, lang, top_k=3))


def test_off_topic_question_gets_no_results_and_a_message(search_service: SearchService) -> None:
    result = search_service.search(Query("what is the weather on Mars tomorrow"))
    assert result.results == []
    assert result.messages and "catalogue" in result.messages[0].lower()


def test_result_shape_and_why(search_service: SearchService) -> None:
    hit = search_service.search(Query("etsivä nuorisotyö 15–28-vuotiaille", "fi", top_k=5)).results[0]
    assert hit.id == OUTREACH_YOUTH_WORK
    assert hit.text_language == "fi" and hit.name.startswith("Etsivä nuorisotyö")
    assert 0.0 < hit.score <= 1.0
    assert any("15" in reason and "28" in reason for reason in hit.why)
    assert hit.eligibility == "unknown"  # the user told us nothing to check


def test_age_ranks_but_never_excludes(search_service: SearchService) -> None:
    query = "outreach youth work, someone to help a young person who has dropped out"

    def outreach(age: int) -> tuple[int, float, str]:
        hits = search_service.search(Query(query, "en", age=age, top_k=20)).results
        rank = [h.id for h in hits].index(OUTREACH_YOUTH_WORK)  # present at any age
        return rank, hits[rank].score, hits[rank].eligibility

    young_rank, young_score, young_fit = outreach(19)
    old_rank, old_score, old_fit = outreach(60)
    assert young_score > old_score and young_rank <= old_rank
    assert (young_fit, old_fit) == ("fits", "unknown")


@pytest.mark.parametrize("municipality", ["Espoo", "049", "Espoossa", "Esbo"])
def test_outside_helsinki_gets_national_descriptions_and_is_told(search_service: SearchService, municipality: str) -> None:
    result = search_service.search(Query("tarvitsen lapselleni päivähoitopaikan", "fi", municipality=municipality))
    assert result.results
    assert all(hit.id.startswith("ptv-gd:") for hit in result.results)
    assert any("Espoo" in message and "Helsin" in message for message in result.messages)


def test_helsinki_user_gets_local_services_without_the_notice(search_service: SearchService) -> None:
    result = search_service.search(Query("tarvitsen lapselleni päivähoitopaikan", "fi", municipality="Helsingissä", top_k=10))
    assert any(hit.id.startswith("hel-tpr:") for hit in result.results)
    assert result.messages == []


def test_unknown_municipality_is_a_clear_error(search_service: SearchService) -> None:
    with pytest.raises(InvalidQuery, match="unknown municipality"):
        search_service.search(Query("päivähoito", "fi", municipality="Atlantis"))


def test_filters_restrict_results(search_service: SearchService, sessions) -> None:  # type: ignore[no-untyped-def]
    youth = search_service.search(Query("harrastus ja vapaa-aika", "fi", target_group="KR1.3", top_k=10))
    movers = search_service.search(
        Query("I moved to Finland and need help getting started", "en", life_event="IMMIGRATING_TO_FINLAND", top_k=10)
    )
    swedish = search_service.search(Query("dagvård för barn", "sv", service_language="sv", top_k=10))
    assert youth.results and movers.results and swedish.results
    with sessions() as session:
        for hit in youth.results:
            groups = repository.get_service(session=session, service_id=hit.id).target_groups
            assert any(group.startswith("KR1.3") for group in groups)
        for hit in movers.results:
            assert "IMMIGRATING_TO_FINLAND" in repository.get_service(session=session, service_id=hit.id).life_events
    assert all(hit.text_language == "sv" for hit in swedish.results)


@pytest.mark.parametrize(
    ("lang", "text", "expected_text_language"),
    [
        ("ar", "أحتاج مكاناً في الحضانة لطفلي الصغير", "en"),
        ("ru", "мне нужно место в детском саду для ребенка", "en"),
        ("et", "Mul on vaja lapsele lasteaiakohta, kust seda taotleda?", "fi"),
        ("sv", "jag behöver dagvård för mitt barn", "sv"),
    ],
)
def test_text_language_follows_the_fallback_order(
    search_service: SearchService, lang: str, text: str, expected_text_language: str
) -> None:
    result = search_service.search(Query(text, top_k=3))
    assert result.language == lang
    assert result.results
    assert {hit.text_language for hit in result.results} == {expected_text_language}
    if expected_text_language != lang:
        # The user is told the text is in another language, in the user's language.
        assert all(len(hit.why) >= 3 for hit in result.results)


def test_short_query_falls_back_to_given_language(search_service: SearchService) -> None:
    assert search_service.search(Query("Kela", "ar")).language == "ar"


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂🙂", "?!"])
def test_nothing_to_search_gives_empty_results_with_a_message(search_service: SearchService, text: str) -> None:
    result = search_service.search(Query(text, "en"))
    assert result.results == []
    assert result.messages and "situation" in result.messages[0]


def test_mixed_scripts_are_answered(search_service: SearchService) -> None:
    result = search_service.search(Query("Kela пособие на жильё asumistuki", "ru"))
    assert result.language in {"ru", "fi"}


def test_too_long_query_is_refused(search_service: SearchService) -> None:
    with pytest.raises(InvalidQuery, match="4000"):
        search_service.search(Query("a" * 4001, "en"))


def test_unknown_language_is_refused(search_service: SearchService) -> None:
    with pytest.raises(UnsupportedLanguage) as raised:
        search_service.search(Query("hello", "xx"))
    assert "fi" in str(raised.value) and "ckb" in str(raised.value)


def test_warm_up_loads_what_a_first_query_would_wait_for(search_service: SearchService) -> None:
    from knowledge_base import language

    language._identifier.cache_clear()
    search_service.warm_up(["fi", "so"])
    assert language._identifier.cache_info().currsize == 1
