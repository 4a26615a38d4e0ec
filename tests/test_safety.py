import pytest

from knowledge_base.safety import SafetyTerms
from knowledge_base.settings import PACKAGE_DIR


@pytest.fixture(scope="module")
def terms() -> SafetyTerms:
    return SafetyTerms.load(PACKAGE_DIR / "data")


@pytest.mark.parametrize(
    "text",
    [
        "I have nowhere to sleep tonight",
        "en halua enää elää",
        "mieheni lyö minua",
        "не хочу жить больше",
        "أفكر في الانتحار",
        "我不想活了",
        "I was raped last year and can't cope",
    ],
)
def test_danger_is_caught(terms: SafetyTerms, text: str) -> None:
    assert terms.matches(text)


@pytest.mark.parametrize(
    "text",
    ["I lost my job", "jäin työttömäksi", "I scraped my car", "tarvitsen asumisneuvontaa", "мне нужна работа", "my child needs day care"],
)
def test_ordinary_questions_are_not(terms: SafetyTerms, text: str) -> None:
    assert not terms.matches(text)
