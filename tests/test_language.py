from __future__ import annotations

import pytest

from knowledge_base.errors import InvalidQuery, UnsupportedLanguage
from knowledge_base.language import (
    CATALOGUE_LANGUAGES,
    SUPPORTED_LANGUAGES,
    catalogue_language_order,
    check_language,
    detect_language,
)

CLEAR_SENTENCES = {
    "fi": "Haluaisin tietää, miten voin hakea toimeentulotukea ja kuka auttaa hakemuksen kanssa.",
    "sv": "Jag skulle vilja veta hur jag kan ansöka om utkomststöd och vem som hjälper mig med ansökan.",
    "en": "I would like to know how I can apply for social assistance and who can help me with the form.",
    "ru": "Я хотел бы узнать, как подать заявление на социальную помощь и кто может мне помочь.",
    "uk": "Я хотів би дізнатися, як подати заяву на соціальну допомогу і хто може мені допомогти.",
    "ar": "أود أن أعرف كيف يمكنني التقدم بطلب للحصول على المساعدة الاجتماعية ومن يمكنه مساعدتي.",
    "so": "Waxaan jeclaan lahaa inaan ogaado sida aan u codsan karo kaalmada bulshada iyo cidda i caawin karta.",
    "et": "Tahaksin teada, kuidas saan taotleda toimetulekutoetust ja kes mind taotlusega aitab.",
    "fa": "می‌خواهم بدانم چگونه می‌توانم برای کمک هزینه اجتماعی درخواست بدهم و چه کسی به من کمک می‌کند.",
    "zh": "我想知道怎样申请社会救助，谁可以帮我填写申请表。",
    "vi": "Tôi muốn biết làm thế nào để xin trợ cấp xã hội và ai có thể giúp tôi làm đơn.",
    "tr": "Sosyal yardım için nasıl başvurabileceğimi ve başvuruda bana kimin yardım edebileceğini öğrenmek istiyorum.",
    "ckb": "دەمەوێت بزانم چۆن داوای یارمەتی کۆمەڵایەتی بکەم و کێ دەتوانێت یارمەتیم بدات.",
    "es": "Me gustaría saber cómo puedo solicitar la ayuda social y quién me puede ayudar con la solicitud.",
    "fr": "Je voudrais savoir comment demander l'aide sociale et qui peut m'aider à remplir le formulaire.",
}


def test_supported_languages_order() -> None:
    assert SUPPORTED_LANGUAGES == (
        "fi",
        "sv",
        "en",
        "ru",
        "uk",
        "ar",
        "so",
        "et",
        "fa",
        "zh",
        "vi",
        "tr",
        "ckb",
        "es",
        "fr",
    )
    assert CATALOGUE_LANGUAGES == ("fi", "sv", "en")


def test_every_language_has_a_sentence() -> None:
    assert set(CLEAR_SENTENCES) == set(SUPPORTED_LANGUAGES)


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_clear_sentence_is_detected(language: str) -> None:
    assert detect_language(CLEAR_SENTENCES[language]) == language


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_clear_sentence_beats_a_different_fallback(language: str) -> None:
    other = "fi" if language != "fi" else "en"
    assert detect_language(CLEAR_SENTENCES[language], fallback=other) == language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Sorani letters (ێ ۆ ڕ ڵ ە) decide before any statistical model.
        ("منداڵەکەم پێویستی بە باخچەی ساوایان هەیە", "ckb"),
        ("سڵاو، چۆنی؟ من لە هەلسینکی دەژیم", "ckb"),
        # Persian letters and Farsi yeh/keheh.
        ("فرزندم به مهدکودک نیاز دارد و من کار پیدا نکردم", "fa"),
        ("من در هلسینکی زندگی می‌کنم و دنبال کلاس زبان هستم", "fa"),
        # Arabic yeh, kaf, teh marbuta.
        ("طفلي يحتاج إلى مكان في الحضانة وأنا أبحث عن عمل", "ar"),
        ("أعيش في هلسنكي وأبحث عن دورة لغة", "ar"),
    ],
)
def test_arabic_script_languages(text: str, expected: str) -> None:
    assert detect_language(text) == expected
    # a same-script fallback does not override clear evidence in a long message
    assert detect_language(text, fallback="ar" if expected != "ar" else "fa") == expected


def test_sorani_letters_decide_even_in_short_text() -> None:
    assert detect_language("یارمەتی", fallback="fa") == "ckb"
    assert detect_language("سوپاس بۆ یارمەتی") == "ckb"


def test_han_script_is_chinese_even_when_short() -> None:
    assert detect_language("失业", fallback="fi") == "zh"
    assert detect_language("托儿所") == "zh"


@pytest.mark.parametrize("fallback", ["sv", "ar", "zh", "uk"])
@pytest.mark.parametrize("text", ["Kela", "päivähoito", "help", "TE-toimisto Espoo", "daycare"])
def test_short_latin_text_returns_fallback(text: str, fallback: str) -> None:
    assert detect_language(text, fallback=fallback) == fallback


@pytest.mark.parametrize("text", ["", "   ", "👍", "🙏🙏🙏", "12345", "040 123 4567", "?!", "https://www.kela.fi"])
def test_no_letters_returns_fallback_or_finnish(text: str) -> None:
    assert detect_language(text, fallback="so") == "so"
    assert detect_language(text) == "fi"


def test_short_text_without_fallback_gets_best_guess() -> None:
    assert detect_language("kiitos paljon") == "fi"
    assert detect_language("детский сад") == "ru"


def test_short_non_latin_text_overrides_fallback_of_another_script() -> None:
    # the script rules the fallback out, so the best same-script guess wins
    assert detect_language("детский сад", fallback="fi") == "ru"
    assert detect_language("дитячий садок", fallback="en") == "uk"
    # but a same-script fallback is kept for a short, ambiguous message
    assert detect_language("робота", fallback="ru") == "ru"
    assert detect_language("کار", fallback="ckb") == "ckb"


def test_ukrainian_and_russian_letters() -> None:
    assert detect_language("Мені потрібна допомога з житлом у Фінляндії") == "uk"
    assert detect_language("Мне нужна помощь с жильём в Финляндии") == "ru"


def test_detect_language_checks_the_fallback() -> None:
    with pytest.raises(UnsupportedLanguage):
        detect_language("hello there my friend", fallback="de")


@pytest.mark.parametrize(
    ("code", "expected"), [("fi", "fi"), ("FI", "fi"), (" sv\n", "sv"), ("CKB", "ckb"), ("Zh", "zh")]
)
def test_check_language_normalises(code: str, expected: str) -> None:
    assert check_language(code) == expected


@pytest.mark.parametrize("code", ["de", "", "  ", "fin", "ku", "fi-FI", "zh-Hans", "xx"])
def test_check_language_rejects(code: str) -> None:
    with pytest.raises(UnsupportedLanguage) as info:
        check_language(code)
    assert info.value.code == code
    assert info.value.supported == SUPPORTED_LANGUAGES
    assert isinstance(info.value, InvalidQuery)


def test_check_language_rejects_non_strings() -> None:
    with pytest.raises(UnsupportedLanguage):
        check_language(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("lang", "order"),
    [
        ("fi", ("fi", "sv", "en")),
        ("sv", ("sv", "fi", "en")),
        ("en", ("en", "fi", "sv")),
        ("et", ("fi", "en", "sv")),
        ("ru", ("en", "fi", "sv")),
        ("ckb", ("en", "fi", "sv")),
        ("zh", ("en", "fi", "sv")),
        ("SV", ("sv", "fi", "en")),
    ],
)
def test_catalogue_language_order(lang: str, order: tuple[str, ...]) -> None:
    assert catalogue_language_order(lang) == order


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_catalogue_order_is_a_permutation_of_catalogue_languages(lang: str) -> None:
    assert sorted(catalogue_language_order(lang)) == sorted(CATALOGUE_LANGUAGES)


def test_catalogue_language_order_rejects_unknown() -> None:
    with pytest.raises(UnsupportedLanguage):
        catalogue_language_order("de")
