import pytest

from knowledge_base.facts import extract_age


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("olen 19-vuotias enkä tiedä mitä opiskelisin", 19),
        ("24", 24),
        ("24 vuotta", 24),
        ("I'm 24 years old", 24),
        ("I am 31", 31),  # "I am N" with nothing after it
        ("jäin työttömäksi, olen 24 ja asun Helsingissä", 24),
        ("jag är 17, vad ska jag göra", 17),
        ("мне 30, ищу работу", 30),
        ("asun Helsingissä ja olen 45.", 45),
        ("I am 5 minutes late", None),  # a unit that is not years
        ("olen 3 kuukautta ollut työtön", None),
        ("olen 24 tuntia valvonut", None),
        ("jag är 22 år", 22),
        ("мне 35 лет, потерял работу", 35),
        ("عمري ٢٤ سنة", 24),
        ("۲۴ سالمه", 24),
        ("我今年28岁", 28),
        ("tôi 40 tuổi", 40),
        ("45 yaşındayım", 45),
        ("tengo 30 años", 30),
        ("j'ai 52 ans", 52),
        ("age: 17", 17),
        ("asun Vantaalla, 2 lasta", None),
        ("soita 0401234567", None),
        ("vuonna 2023 muutin", None),
        ("", None),
    ],
)
def test_extract_age(text: str, age: int | None) -> None:
    assert extract_age(text) == age
