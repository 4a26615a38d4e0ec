"""The domain lexicon: matching rules on hand-made text, the shipped data file's
coverage, and the BM25 terms it adds (real Finnish model and Snowball)."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base.language import CATALOGUE_LANGUAGES, SUPPORTED_LANGUAGES
from knowledge_base.lexicon import DEFAULT_PATH, QueryLexicon, load_lexicon, word_count
from knowledge_base.settings import PACKAGE_DIR, Settings
from knowledge_base.text_analysis import Analyzer

SMALL = """
concepts:
  unemployment:
    catalogue: {fi: työtön työttömyys, en: unemployed}
    query:
      ru: [безработ, потерял работу]
      ar: [عاطل, بطالة]
      zh: [失业]
      es: [paro=]
  housing:
    catalogue: {fi: asunto, en: housing}
    query:
      fa: [خانه, کرایه]
      en: [apartment]
      fr: [logement]
  school:
    catalogue: {fi: koulu, en: school}
    query:
      fr: [école]
      so: [aan=]
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> QueryLexicon:
    path: Path = tmp_path_factory.mktemp("lexicon") / "lexicon.yml"
    path.write_text(SMALL, encoding="utf-8")
    return QueryLexicon.load(path)


def names(lexicon: QueryLexicon, text: str, *languages: str) -> list[str]:
    return [c.name for c in lexicon.concepts_in(text, languages)]


def test_a_stem_matches_inflected_words_at_their_start(small: QueryLexicon) -> None:
    assert names(small, "Я безработный уже месяц", "ru") == ["unemployment"]
    assert names(small, "Безработица растёт", "ru") == ["unemployment"]
    assert names(small, "небезработный", "ru") == []  # not at a word's start


def test_phrases_match_across_spaces_and_case(small: QueryLexicon) -> None:
    assert names(small, "Вчера я ПОТЕРЯЛ   работу", "ru") == ["unemployment"]


def test_whole_word_terms(small: QueryLexicon) -> None:
    assert names(small, "estoy en paro desde enero", "es") == ["unemployment"]
    assert names(small, "una parodia", "es") == []


def test_arabic_clitics_and_keyboard_variants(small: QueryLexicon) -> None:
    assert names(small, "أنا عاطل عن العمل", "ar") == ["unemployment"]
    assert names(small, "مشكلة البطالة", "ar") == ["unemployment"]  # article
    assert names(small, "وبالبطالة", "ar") == ["unemployment"]  # and + with + the
    assert names(small, "دنبال خانه\u200cای هستم", "fa") == ["housing"]  # zero-width non-joiner
    assert names(small, "كرايه", "fa") == ["housing"]  # Arabic kaf and yeh for the Persian letters


def test_a_word_starts_after_an_elided_article_but_not_inside_a_word(small: QueryLexicon) -> None:
    assert names(small, "Comment on l'inscrit à l'école ?", "fr") == ["school"]
    assert names(small, "D'ÉCOLE", "fr") == ["school"]
    assert names(small, "qu’un logement", "fr") == ["housing"]  # typographic apostrophe
    assert names(small, "shaqo la'aan", "so") == []  # Somali: the apostrophe is inside the word


def test_turkish_dotted_capital_i_matches_a_plain_i(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.yml"
    path.write_text("concepts:\n  job_search:\n    catalogue: {fi: työnhaku}\n    query:\n      tr: [iş=]\n", encoding="utf-8")
    lexicon = QueryLexicon.load(path)
    assert names(lexicon, "İş arıyorum", "tr") == ["job_search"]  # "İ".lower() is "i" + a combining dot
    assert names(lexicon, "İŞ", "tr") == ["job_search"]


def test_chinese_matches_anywhere(small: QueryLexicon) -> None:
    assert names(small, "我上个月失业了", "zh") == ["unemployment"]


def test_only_the_given_languages_are_looked_up(small: QueryLexicon) -> None:
    assert names(small, "apartment", "ru") == []
    assert names(small, "apartment", "ru", "en") == ["housing"]
    assert names(small, "nothing here", "en") == []


def test_expansion_gives_catalogue_index_terms(small: QueryLexicon) -> None:
    analyzer = Analyzer()
    terms = small.expansion("потерял работу, ищу apartment", "ru", analyzer.analyze)
    # Finnish lemmas and English stems, as the catalogue's indexes hold them
    assert {"työtön", "työttömyys", "unemploy", "asunto", "hous"} <= set(terms)
    assert len(terms) == len(set(terms))
    assert small.expansion("привет", "ru", analyzer.analyze) == []


def test_shipped_lexicon_covers_every_language() -> None:
    """Every concept names the catalogue's words in fi, sv and en, and has question words in
    every supported language: a new language or concept must be filled in everywhere."""
    lexicon = load_lexicon(DEFAULT_PATH)
    assert len(lexicon.concepts) >= 30
    for concept in lexicon.concepts:
        assert set(concept.catalogue) == set(CATALOGUE_LANGUAGES), concept.name
    assert set(lexicon.languages) == set(SUPPORTED_LANGUAGES)
    for language in SUPPORTED_LANGUAGES:
        covered = {c.name for c in lexicon.concepts if lexicon.has_terms(c.name, language)}
        assert covered == {c.name for c in lexicon.concepts}, (language, {c.name for c in lexicon.concepts} - covered)


# A company, firm or business is the setting of many questions that are not about starting one:
# an employer who needs staff, a worker whose employer went bankrupt or is cutting jobs.
NOT_ENTREPRENEURSHIP = [
    ("en", "Our small company needs two more cleaners, where do we find them?"),
    ("en", "The company I worked for went bankrupt last week"),
    ("fi", "Pieni yrityksemme tarvitsee lisää työntekijöitä ulkomailta"),
    ("fi", "Yritys, jossa olin töissä, meni konkurssiin"),
    ("sv", "Firman jag jobbade på gick i konkurs"),
    ("ru", "Фирма, где я работал, обанкротилась, что делать?"),
    ("uk", "Підприємство, де я працював, збанкрутувало"),
    ("ar", "الشركة التي أعمل فيها أفلست"),
    ("ar", "أشتغل في شركة خاصة وبدي أغير شغلي"),
    ("fa", "شرکتی که توش کار میکردم ورشکست شد"),
    ("tr", "Şirketimiz yurt dışından bir yazılımcı getirmek istiyor"),
    ("tr", "İş kurumuna nasıl kayıt olurum?"),
    ("zh", "我工作的公司倒闭了"),
    ("vi", "Công ty tôi làm việc bị phá sản"),
    ("es", "La empresa donde trabajaba cerró y me quedé sin empleo"),
    ("fr", "Notre entreprise cherche des salariés"),
    ("so", "Shirkadda aan ka shaqeeyo way xirantay"),
    ("et", "Meie ettevõte otsib töötajaid"),
]
ENTREPRENEURSHIP = [
    ("en", "I want to start my own business, can I get a start-up grant?"),
    ("fi", "Haluaisin perustaa oman yrityksen, mistä saan neuvoja?"),
    ("sv", "Jag vill starta eget företag"),
    ("ru", "Хочу открыть свой бизнес в Финляндии"),
    ("uk", "Як зареєструвати ФОП у Фінляндії?"),
    ("ar", "بدي افتح مشروعي الخاص"),
    ("fa", "میخوام کسب و کار خودم رو راه بندازم"),
    ("tr", "Kendi şirketimi kurmak istiyorum"),
    ("zh", "我想在芬兰开一家餐厅"),
    ("vi", "toi muon mo cong ty o phan lan"),
    ("es", "Quiero montar mi propio negocio"),
    ("fr", "Je veux créer mon entreprise"),
    ("so", "Waxaan rabaa inaan ganacsi bilaabo"),
    ("et", "Tahan asutada oma firma"),
]


@pytest.mark.parametrize(("language", "question"), NOT_ENTREPRENEURSHIP)
def test_a_company_as_the_setting_is_not_entrepreneurship(language: str, question: str) -> None:
    assert "entrepreneurship" not in names(load_lexicon(DEFAULT_PATH), question, language, "en", "fi")


@pytest.mark.parametrize(("language", "question"), ENTREPRENEURSHIP)
def test_starting_a_business_is_entrepreneurship(language: str, question: str) -> None:
    assert "entrepreneurship" in names(load_lexicon(DEFAULT_PATH), question, language, "en", "fi")


def test_an_empty_setting_turns_the_lexicon_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPASTIN_QUERY_LEXICON", "")
    assert Settings().query_lexicon is None
    monkeypatch.delenv("OPASTIN_QUERY_LEXICON")
    assert Settings().query_lexicon == DEFAULT_PATH


def test_word_count_counts_chinese_by_pairs_of_characters() -> None:
    assert word_count("lost my job") == 3
    assert word_count("TE-toimisto apua") == 3
    assert word_count("我上个月失业了") == 4
    assert word_count("") == 0


def test_school_words_fire_basic_education_only_for_a_comprehensive_school_need() -> None:
    """"School" is the setting of most questions that mention it (a student anxious at school,
    an adult finishing upper secondary school, vocational training): basic_education fires on
    comprehensive-school needs (a school place, enrolling a child, grades 1-9), not on the word.
    Looked up as a search does: the question's language and the shared languages."""
    lexicon = QueryLexicon.load(PACKAGE_DIR / "data" / "query_lexicon.yml")

    def fires(text: str, language: str) -> bool:
        return "basic_education" in [c.name for c in lexicon.concepts_in(text, (language, "en", "fi"))]

    setting = {
        "en": ["Who can I talk to at school? I'm anxious", "I want to finish high school as an adult",
               "I'm a vocational school student and need the school nurse"],
        "fi": ["Kenelle voin puhua koulussa, minua ahdistaa", "Haluan suorittaa lukion aikuisena", "ammatillinen koulutus",
               "Haluan kokeilla alaa ennen kolmen vuoden koulua", "Olen ammattikoulussa"],
        "sv": ["Vem kan jag prata med i skolan? Jag har ångest", "Jag vill gå klart gymnasiet som vuxen"],
        "ru": ["С кем можно поговорить в школе? У меня тревога", "Хочу закончить старшую школу взрослым"],
        "ar": ["مع مين بقدر احكي بالمدرسة؟ عندي قلق", "بدي كمل الثانوية وأنا كبير"],
        "fa": ["تو مدرسه با کی میتونم حرف بزنم؟ اضطراب دارم", "میخوام دبیرستان رو بزرگسالی تموم کنم"],
        "so": ["Yaan la hadli karaa dugsiga? Waan walwalsanahay", "Waxaan rabaa inaan dhammeeyo dugsiga sare anigoo qof weyn ah"],
        "tr": ["Okulda kiminle konuşabilirim? Kaygılıyım", "Yetişkin olarak liseyi bitirmek istiyorum"],
        "zh": ["在学校我可以找谁谈谈？我很焦虑", "我想以成年人身份读完高中"],
        "es": ["¿Con quién puedo hablar en el colegio? Tengo ansiedad", "Quiero terminar el bachillerato siendo adulto"],
        "fr": ["À qui puis-je parler à l'école ? Je suis anxieux", "Je veux finir le lycée en tant qu'adulte"],
        "et": ["Kellega saan koolis rääkida? Mul on ärevus", "koolitus"],
    }
    need = {
        "en": ["How do I get a school place for my 7-year-old?"],
        "fi": ["Miten saan koulupaikan 7-vuotiaalle lapselleni?", "Miten lapsi ilmoitetaan kouluun?"],
        "sv": ["Hur får jag en skolplats för min 7-åring?"],
        "ru": ["Как получить место в школе для моего 7-летнего ребёнка?"],
        "ar": ["كيف أحصل على مكان في المدرسة لابني عمره 7 سنوات؟"],
        "fa": ["چطور برای بچه هفت ساله ام جای مدرسه بگیرم؟"],
        "ckb": ["چۆن شوێنی قوتابخانە بۆ منداڵە حەوت ساڵەکەم وەربگرم؟", "چون شوینی قوتابخانه بو منداله حهوت سالهکهم وهربگرم"],
        "so": ["Sideen ku helaa boos dugsiga ilmahayga 7 jir ah?"],
        "tr": ["7 yaşındaki çocuğum için nasıl okul yeri alabilirim?"],
        "zh": ["怎么给我7岁的孩子申请小学名额？"],
        "vi": ["Làm sao xin trường cho con 7 tuổi?", "lam sao xin truong cho con 7 tuoi"],
        "es": ["¿Cómo consigo una plaza escolar para mi hijo de 7 años?"],
        "fr": ["Comment obtenir une place à l'école pour mon enfant de 7 ans ?"],
        "et": ["Kuidas saada koolikoht minu 7-aastasele lapsele?"],
    }
    assert [(lang, text) for lang, texts in setting.items() for text in texts if fires(text, lang)] == []
    assert [(lang, text) for lang, texts in need.items() for text in texts if not fires(text, lang)] == []


# "At home" is the setting of many questions (back to work after years with the children, a
# housewife, homework, a parent living alone); housing words name the need for a home.
AT_HOME_WITH_KIDS = {
    "en": "I've been at home with my kids for years and want to work again",
    "ar": "كنت في البيت مع اولادي سبع سنين وبدي ارجع اشتغل",
    "fa": "چند سال تو خونه با بچه‌ها بودم و میخوام دوباره کار کنم",
    "ckb": "چەند ساڵە لە ماڵەوەم لەگەڵ منداڵەکانم و دەمەوێت کار بکەم",
    "so": "Sanado badan ayaan guriga la joogay carruurta, hadda waxaan rabaa inaan shaqeeyo",
    "tr": "Yıllardır çocuklarla evdeyim ve tekrar çalışmak istiyorum",
    "es": "Llevo años en casa con mis hijos y quiero volver a trabajar",
    "fr": "Je suis à la maison avec mes enfants depuis des années et je veux retravailler",
    "et": "Olen aastaid olnud lastega kodus ja tahan uuesti tööle minna",
    "vi": "Tôi ở nhà với con nhiều năm và muốn đi làm lại",
    "zh": "我在家带孩子好几年了，想重新工作",
    "ru": "Я несколько лет сидела дома с детьми и хочу снова работать",
}
OTHER_AT_HOME = [
    ("en", "I'm a housewife and want to study"),
    ("en", "my home country is Iraq"),
    ("ar", "انا ربة منزل"),
    ("ar", "مساعدة في الواجبات المنزلية"),
    ("fa", "من خانه‌دار هستم"),
    ("fa", "مادرم تنها تو خونه زندگی میکنه"),
    ("ckb", "دایکم بە تەنها لە ماڵەوە دەژی"),
    ("so", "hooyaday keligeed ayay guriga ku nooshahay"),
    ("tr", "ev hanımıyım"),
    ("tr", "ev ödevi yardımı"),
    ("es", "soy ama de casa"),
    ("et", "minu kodu on Tallinnas"),
    ("vi", "toi can ho tro tim viec"),  # "cần hỗ trợ" typed without diacritics, not "căn hộ"
    ("vi", "tim nha tre cho con"),  # a day-care place, not a home
]
LOOKING_FOR_A_RENTAL = {
    "en": "I'm looking for a rental apartment",
    "fi": "etsin vuokra-asuntoa",
    "sv": "jag söker en hyreslägenhet",
    "ar": "ابحث عن شقة للايجار",
    "fa": "دنبال خونه اجاره‌ای هستم",
    "ckb": "بەدوای شوقەیەکی بە کرێ دەگەڕێم",
    "so": "guri kiro ah ayaan raadinayaa",
    "tr": "kiralık daire arıyorum",
    "es": "busco un piso de alquiler",
    "fr": "je cherche un appartement à louer",
    "et": "otsin üürikorterit",
    "vi": "toi dang tim can ho cho thue",
    "zh": "我在找出租公寓",
    "ru": "ищу квартиру в аренду",
    "uk": "шукаю квартиру в оренду",
}


@pytest.mark.parametrize("language", sorted(AT_HOME_WITH_KIDS))
def test_being_at_home_is_not_a_housing_need(language: str) -> None:
    lexicon = QueryLexicon.load(PACKAGE_DIR / "data" / "query_lexicon.yml")
    assert "housing" not in names(lexicon, AT_HOME_WITH_KIDS[language], language)
    assert "housing" in names(lexicon, LOOKING_FOR_A_RENTAL[language], language)


@pytest.mark.parametrize(("language", "text"), OTHER_AT_HOME)
def test_home_as_context_does_not_fire_housing(language: str, text: str) -> None:
    assert "housing" not in names(load_lexicon(DEFAULT_PATH), text, language)


@pytest.mark.parametrize("language", sorted(LOOKING_FOR_A_RENTAL))
def test_looking_for_a_rental_fires_housing(language: str) -> None:
    assert "housing" in names(load_lexicon(DEFAULT_PATH), LOOKING_FOR_A_RENTAL[language], language)


# employer_services names an employer's need (finding staff, hiring from abroad, recruitment help):
# a company, "we" or a third person who needs workers, however it is put. A worker asking who is
# hiring, or about their own employer, is the setting, not the need.
EMPLOYER_NEEDS_STAFF = [
    ("en", "Our company needs workers, where do we start?"),
    ("en", "The firm is looking for staff for the summer"),
    ("en", "How can we bring a programmer from abroad?"),
    ("en", "We can't find skilled workers anywhere"),
    ("en", "I want to hire my first employee"),
    ("fi", "Yrityksemme tarvitsee työntekijöitä"),
    ("fi", "Emme löydä työntekijöitä, mistä saisi apua rekrytointiin?"),
    ("sv", "Vårt företag söker medarbetare"),
    ("ru", "Наша фирма ищет работников"),
    ("ru", "Не могу найти работников для кафе"),
    ("uk", "Компанія шукає працівників"),
    ("uk", "Ми шукаємо співробітників з-за кордону"),
    ("ar", "الشركة تحتاج عمال"),
    ("ar", "عندي مطعم وما عم لاقي عمال"),
    ("fa", "شرکت ما به کارمند نیاز داره"),
    ("fa", "میخوایم یه آشپز از خارج بیاریم"),
    ("ckb", "کۆمپانیاکەمان پێویستی بە کرێکار هەیە"),
    ("so", "Shirkaddu waxay u baahan tahay shaqaale"),
    ("et", "Meie ettevõte otsib töötajaid"),
    ("zh", "我们餐厅招不到人"),
    ("vi", "Công ty tôi cần tuyển thêm người"),
    ("vi", "cong ty toi can tuyen them nguoi"),
    ("tr", "Şirketimiz yurt dışından bir yazılımcı getirmek istiyor"),
    ("es", "No encuentro trabajadores para mi restaurante"),
    ("fr", "Je n'arrive pas à recruter"),
    ("fr", "Notre entreprise cherche des salariés"),
]
WORKER_NOT_EMPLOYER = [
    ("en", "Is anyone hiring? I need a job"),
    ("en", "I'm a new employee and my employer doesn't pay my salary"),
    ("fi", "Yritys irtisanoo työntekijöitä, mitä teen?"),
    ("fi", "Työnantaja ei maksa palkkaani"),
    ("sv", "Jag är nyanställd och arbetsgivaren betalar inte lön"),
    ("ru", "Работодатель не платит мне зарплату"),
    ("ar", "صاحب الشغل ما عم يدفعلي راتبي"),
    ("fa", "کارفرمام حقوقمو نمیده"),
    ("fa", "صاحب کارم حقوقم رو نداده"),
    ("zh", "我在网上看招聘广告找工作"),
    ("zh", "老板不给我发工资"),
    ("vi", "Tôi đang xem tin tuyển dụng để tìm việc"),
    ("es", "Me quieren contratar, ¿qué papeles necesito?"),
    ("fr", "Ils m'ont embauché le mois dernier"),
    ("fr", "Je cherche un emploi, qui recrute ?"),
    ("so", "Milkiilaha shirkadda mushaharkaygii ma bixin"),
    ("so", "Waxaan ahay shaqaale cusub"),
    ("tr", "Beni işe almak istemiyorlar"),
    ("ru", "Меня хотят нанять, какие документы нужны?"),
    ("uk", "Мене хочуть найняти"),
    ("et", "Mind tahetakse palgata"),
    ("ar", "أنا عامل من الخارج وصاحب الشغل ما دفعلي"),
    ("zh", "我想雇个律师"),
    ("en", "How do I hire a lawyer?"),
]


@pytest.mark.parametrize(("language", "question"), EMPLOYER_NEEDS_STAFF)
def test_an_employer_needing_staff_fires_employer_services(language: str, question: str) -> None:
    assert "employer_services" in names(load_lexicon(DEFAULT_PATH), question, language, "en", "fi")


@pytest.mark.parametrize(("language", "question"), WORKER_NOT_EMPLOYER)
def test_a_worker_asking_is_not_employer_services(language: str, question: str) -> None:
    assert "employer_services" not in names(load_lexicon(DEFAULT_PATH), question, language, "en", "fi")


# unemployment names the loss of a job (fired, laid off, a contract that ends, registering as a
# jobseeker), not words that also mean deportation, cutting costs, a contract or just "the job".
LOSING_A_JOB = [
    ("en", "The company is laying off workers and I'm one of them"),
    ("en", "My fixed-term contract ends next month"),
    ("fi", "Määräaikainen työsopimukseni päättyy kesäkuussa"),
    ("sv", "Min visstidsanställning tar slut"),
    ("ru", "Меня сократили на работе"),
    ("ru", "В компании сокращение штата"),
    ("uk", "Мене скоротили, що робити?"),
    ("ar", "الشركة عم تسرّح موظفين وطردوني من الشغل"),
    ("fa", "از کار اخراج شدم"),
    ("fa", "شرکت تعدیل نیرو کرد"),
    ("ckb", "لە کار دەریانکردم"),
    ("so", "Shaqadii waa la iga joojiyay"),
    ("so", "Shaqaale dhimis ayaa shirkadda ka dhacday"),
    ("et", "Mind koondati"),
    ("zh", "我的劳动合同到期了"),
    ("zh", "公司裁员了"),
    ("vi", "Công ty cắt giảm nhân viên"),
    ("tr", "Şirket işçi çıkarıyor"),
    ("es", "Me despidieron ayer"),
    ("fr", "Mon CDD se termine"),
]
NOT_LOSING_A_JOB = [
    ("en", "I have a fixed-term contract, can I get a residence permit?"),
    ("en", "My asylum appeal was dismissed"),
    ("fi", "Minulla on määräaikainen työsopimus, voinko saada asuntolainan?"),
    ("sv", "Jag har en visstidsanställning, kan jag hyra en lägenhet?"),
    ("ru", "Как сократить расходы на жильё?"),
    ("ru", "Что означает это сокращение?"),
    ("uk", "Як скоротити витрати на комунальні послуги?"),
    ("uk", "Я хочу звільнити квартиру"),
    ("ar", "عندي عقد مؤقت وبدي استأجر شقة"),
    ("ar", "خايف يطردوني من فنلندا"),
    ("fa", "میترسم از فنلاند اخراج بشم"),
    ("fa", "حکم اخراج از کشور گرفتم"),
    ("fa", "قرارداد موقت دارم، میتونم خونه اجاره کنم؟"),
    ("ckb", "دەترسم لە فینلاند دەرم بکەن"),
    ("so", "Shaqadii hore waxaan ahaa kariye"),
    ("so", "Guriga waa la iga eryay"),
    ("et", "Mul on tähtajaline leping, kas saan üürida korteri?"),
    ("zh", "劳动合同里写的工资太低"),
    ("zh", "签证不续签怎么办"),
    ("tr", "Masrafları nasıl küçültebilirim, sorun çıkarıyorlar"),
    ("es", "Fiesta de despedida para mi compañero"),
    ("es", "Tengo un contrato temporal, ¿puedo alquilar un piso?"),
    ("fr", "J'ai un CDD, puis-je louer un appartement ?"),
    ("fr", "J'ai viré l'argent du loyer"),
]


@pytest.mark.parametrize(("language", "question"), LOSING_A_JOB)
def test_losing_a_job_fires_unemployment(language: str, question: str) -> None:
    assert "unemployment" in names(load_lexicon(DEFAULT_PATH), question, language, "en", "fi")


@pytest.mark.parametrize(("language", "question"), NOT_LOSING_A_JOB)
def test_deportation_cost_cutting_or_a_contract_is_not_unemployment(language: str, question: str) -> None:
    assert "unemployment" not in names(load_lexicon(DEFAULT_PATH), question, language, "en", "fi")


def test_arabic_short_vowels_do_not_hide_a_word_and_daycare_is_not_custody() -> None:
    """Tanween and short vowels ("مكاناً") are folded away like the other spelling variants;
    حضانة is day care when a place for a child is asked, custody after a divorce."""
    lexicon = load_lexicon(DEFAULT_PATH)
    assert "early_childhood_education" in names(lexicon, "أحتاج مكاناً في الحضانة لطفلي الصغير", "ar")
    assert "early_childhood_education" in names(lexicon, "بدي سجل ابني بالحضانة", "ar")
    custody = names(lexicon, "من يحصل على حضانة الأطفال بعد الطلاق؟", "ar")
    assert "early_childhood_education" not in custody and "divorce_and_separation" in custody


# work_tryout names wanting to try working (or a field) before committing: to see whether one copes,
# for a while without pay, to get experience or show one's skills. Hours in day care, unpaid leave,
# unpaid wages, the right to work on a permit or experience one already has are other needs.
TRYING_OUT_WORK = [
    ("fi", "Olin viisi vuotta kotona lasten kanssa, haluaisin kokeilla jaksanko töissä"),
    ("fi", "Voisinko olla muutaman viikon töissä ilman palkkaa?"),
    ("fi", "Tarvitsen suomalaista työkokemusta, mistä saan jalan oven väliin?"),
    ("sv", "Kan jag jobba utan lön några veckor för att få arbetslivserfarenhet?"),
    ("sv", "Jag vill testa om jag orkar jobba efter utmattningen"),
    ("en", "I want to see if I can cope with work after burnout"),
    ("en", "How can I get my foot in the door and show employers what I can do?"),
    ("en", "My son isn't sure if the field suits him"),
    ("ru", "Я пять лет сидела дома с детьми, хочу попробовать поработать"),
    ("ru", "Можно ли поработать бесплатно, чтобы получить опыт?"),
    ("uk", "Хочу спробувати попрацювати після вигорання"),
    ("uk", "Син не знає, чи підходить йому ця професія"),
    ("ar", "ممكن اشتغل بدون راتب حتى آخذ خبرة؟"),
    ("ar", "ابني مش متأكد اذا المجال بناسبه"),
    ("fa", "میشه چند هفته بدون حقوق کار کنم که تجربه کاری بگیرم؟"),
    ("fa", "پسرم نمیدونه این رشته بهش میخوره یا نه"),
    ("ckb", "دەمەوێت کار تاقی بکەمەوە"),
    ("ckb", "دهتوانم بێ مووچه کار بکهم بۆ ئهزموونی کار؟"),
    ("so", "Waxaan rabaa inaan shaqo isku dayo"),
    ("so", "Ma shaqeyn karaa mushahar la'aan si aan khibrad u helo?"),
    ("et", "Tahan proovida, kas suudan töötada"),
    ("et", "Kas saan ilma palgata töötada, et saada töökogemust?"),
    ("zh", "可以不拿工资工作几周来积累经验吗？"),
    ("zh", "儿子不知道这个专业适不适合他"),
    ("vi", "Có thể làm không lương vài tuần để lấy kinh nghiệm không?"),
    ("vi", "con toi khong biet nganh nay co hop voi no khong"),
    ("tr", "Birkaç hafta maaşsız çalışıp tecrübe kazanabilir miyim?"),
    ("tr", "uzun suredir issizim, calismayi denemek istiyorum"),
    ("es", "¿Puedo trabajar sin sueldo unas semanas para ganar experiencia?"),
    ("es", "Mi hijo no sabe si la profesión es para él"),
    ("fr", "Après un burn-out je veux voir si je tiens"),
    ("fr", "Est-ce que je peux travailler sans salaire pour acquérir de l'expérience ?"),
]
NOT_TRYING_OUT_WORK = [
    ("fi", "Lapsi on päiväkodissa muutaman tunnin päivässä"),
    ("fi", "Pitääkö sairauslomatodistus näyttää työnantajalle?"),
    ("sv", "Kan jag ta tjänstledigt utan lön för att vårda min mamma?"),
    ("en", "Can I work on a student residence permit?"),
    ("en", "I have 5 years of work experience in Finland, can I get citizenship?"),
    ("ru", "Смогу ли я работать с этим видом на жительство?"),
    ("uk", "Чи зможу я працювати з тимчасовим захистом?"),
    ("ar", "اجازة بدون راتب حتى اعتني بامي"),
    ("fa", "مرخصی بدون حقوق برای مراقبت از مادرم"),
    ("ckb", "دەمەوێت زمانەکەم تاقی بکەمەوە"),
    ("so", "Daryeel caafimaad lacag la'aan ah ma jiraa?"),
    ("et", "Mind tahetakse palgata"),
    ("zh", "这本书可以免费试读吗"),
    ("vi", "Tháng này tôi không nhận lương"),
    ("tr", "Annemle ilgilenmek için maaşsız izin alabilir miyim?"),
    ("es", "Excedencia sin sueldo para cuidar a mi madre"),
    ("fr", "Je veux voir si je peux travailler avec mon titre de séjour"),
]


@pytest.mark.parametrize(("language", "question"), TRYING_OUT_WORK)
def test_trying_out_work_fires_work_tryout(language: str, question: str) -> None:
    assert "work_tryout" in names(load_lexicon(DEFAULT_PATH), question, language)


@pytest.mark.parametrize(("language", "question"), NOT_TRYING_OUT_WORK)
def test_leave_wages_permits_or_day_care_hours_are_not_work_tryout(language: str, question: str) -> None:
    assert "work_tryout" not in names(load_lexicon(DEFAULT_PATH), question, language, "en", "fi")


# student_health_care names the health and welfare of pupils and students at their school or
# college: who there to talk to, its nurse, psychologist or social worker, students' mental health,
# stress before exams. The school alone is the setting (a school place, enrolling, changing school).
STUDENT_HEALTH = [
    ("fi", "Kenelle voin puhua koulussa, minua ahdistaa"),
    ("fi", "Onko amiksessa terveydenhoitajaa tai psykologia?"),
    ("fi", "Kokeet stressaa niin paljon etten saa unta"),
    ("sv", "Vem kan jag prata med i skolan?"),
    ("sv", "Finns det en psykolog på skolan?"),
    ("sv", "Jag har provångest"),
    ("en", "Who can I talk to at school? I'm anxious"),
    ("en", "Is there someone at school my daughter can see?"),
    ("en", "Does the college have a psychologist?"),
    ("en", "I get panic before exams, who can help?"),
    ("ru", "С кем можно поговорить в школе? У меня тревога"),
    ("ru", "У меня сильный стресс перед экзаменами"),
    ("uk", "З ким можна поговорити в школі?"),
    ("uk", "Де знайти студентського психолога?"),
    ("ar", "مع مين بقدر احكي بالمدرسة؟ عندي قلق"),
    ("ar", "بنتي بدها تحكي مع حدا بالمدرسة"),
    ("ar", "عندي قلق الامتحانات"),
    ("fa", "تو مدرسه با کی میتونم حرف بزنم؟ اضطراب دارم"),
    ("fa", "استرس قبل از امتحان دارم"),
    ("ckb", "لە قوتابخانە لەگەڵ کێ قسە بکەم؟"),
    ("ckb", "له قوتابخانه لهگهڵ کێ قسه بکهم"),
    ("so", "Yaan la hadli karaa dugsiga? Waan walwalsanahay"),
    ("so", "Walwalka imtixaanka ayaa i haya"),
    ("et", "Kellega saan koolis rääkida? Mul on ärevus"),
    ("et", "Mul on eksamiärevus"),
    ("zh", "在学校我可以找谁谈谈？我很焦虑"),
    ("zh", "学校有没有心理老师"),
    ("vi", "Ở trường có ai để nói chuyện không?"),
    ("vi", "o truong co ai de noi chuyen khong"),
    ("vi", "Tôi bị áp lực thi cử"),
    ("tr", "Okulda kiminle konuşabilirim? Kaygılıyım"),
    ("tr", "okulda kiminle konusabilirim"),
    ("tr", "Sınav kaygısı yaşıyorum"),
    ("es", "¿Con quién puedo hablar en el colegio? Tengo ansiedad"),
    ("es", "Tengo mucha ansiedad por los exámenes"),
    ("fr", "À qui puis-je parler à l'école ? Je suis anxieux"),
    ("fr", "J'ai beaucoup de stress avant les examens"),
]
NOT_STUDENT_HEALTH = [
    ("fi", "Miten ilmoitan lapsen kouluun?"),
    ("fi", "Kenelle koulussa ilmoitan muuttoosoitteen?"),
    ("sv", "Hur anmäler jag mitt barn till skolan?"),
    ("en", "How do I enrol my child in school?"),
    ("en", "I need to see a doctor"),
    ("ru", "Куда обратиться в школу по поводу записи?"),
    ("uk", "Як записати дитину до школи?"),
    ("ar", "بدي احكي مع المدرسة عن التسجيل"),
    ("fa", "چطور بچمو تو مدرسه ثبت نام کنم؟"),
    ("ckb", "چۆن منداڵەکەم لە قوتابخانە ناونووس بکەم؟"),
    ("so", "Sideen ilmahayga dugsiga ugu diiwaangeliyaa?"),
    ("et", "Koolis räägitakse eesti keelt"),
    ("zh", "怎么给孩子报名上学？"),
    ("vi", "Tôi sợ thiếu tiền thuê nhà"),
    ("vi", "Làm sao xin trường cho con?"),
    ("tr", "Okula kayıt nasıl yapılır?"),
    ("es", "Tengo que hablar con el colegio sobre la matrícula"),
    ("fr", "Je dois parler à l'école de mon fils pour l'inscription"),
]


@pytest.mark.parametrize(("language", "question"), STUDENT_HEALTH)
def test_a_student_asking_who_to_talk_to_fires_student_health_care(language: str, question: str) -> None:
    assert "student_health_care" in names(load_lexicon(DEFAULT_PATH), question, language, "en", "fi")


@pytest.mark.parametrize(("language", "question"), NOT_STUDENT_HEALTH)
def test_school_as_the_setting_is_not_student_health_care(language: str, question: str) -> None:
    assert "student_health_care" not in names(load_lexicon(DEFAULT_PATH), question, language, "en", "fi")


# adult_general_education names an adult completing general education (upper secondary school or the
# matriculation exam, basic education, raising grades, single upper secondary courses, literacy) as
# people put it: never finished, only went to school until grade 6, at my age, in the evenings or online
# while working. A teenager moving on after grade 9, an adult in vocational training, a child who drops
# out or cannot read yet, or not reading Finnish, are neighbouring needs.
ADULT_GENERAL_EDUCATION = [
    ("en", "I'm 35 and never finished high school, can I still do it?"),
    ("en", "I studied only until 6th grade in my country, can I get a basic education certificate here?"),
    ("en", "I want to retake exams to raise my high school grades for medical school"),
    ("fi", "Olen 35 enkä ole käynyt lukiota, voinko vielä suorittaa sen?"),
    ("fi", "Kävin koulua vain kuusi vuotta kotimaassani"),
    ("fi", "Voiko lukion käydä iltaisin töiden ohella?"),
    ("sv", "Jag gick aldrig ut gymnasiet, kan jag gå klart gymnasiet nu?"),
    ("sv", "Jag vill läsa upp mina betyg för att komma in på läkarlinjen"),
    ("ru", "Мне 40 лет, я не закончил школу"),
    ("ru", "У меня только 6 классов образования"),
    ("uk", "Я не закінчила школу, чи можна вчитися в лукіо дорослою?"),
    ("uk", "Мама не вміє читати і писати"),
    ("ar", "عمري 35 وما خلصت الثانوية، بقدر كملها؟"),
    ("ar", "درست بس للصف السادس ببلدي"),
    ("ar", "بدي ارفع معدلي لادخل الطب"),
    ("fa", "فقط تا کلاس ششم درس خوندم، میتونم مدرک سیکل بگیرم؟"),
    ("fa", "میخوام ترمیم معدل کنم برای پزشکی"),
    ("fa", "دبیرستان غیرحضوری هست؟"),
    ("ckb", "تەمەنم ٣٥ ساڵە و ئامادەییم تەواو نەکردووە"),
    ("ckb", "تهنها تا پۆلی شهش خوێندوومه"),
    ("ckb", "دەمەوێت نمرەکانم بەرز بکەمەوە بۆ پزیشکی"),
    ("so", "Waxaan ahay 35 jir, dugsiga sare ma dhammayn"),
    ("so", "Kaliya ilaa fasalka lixaad ayaan dhigtay"),
    ("et", "Mul pole keskharidust, kas saan gümnaasiumi täiskasvanuna lõpetada?"),
    ("et", "Mul on ainult 6 klassi haridus"),
    ("zh", "我只上过小学，可以在芬兰补学历吗？"),
    ("zh", "可以边工作边读高中吗？"),
    ("vi", "Tôi 35 tuổi chưa tốt nghiệp cấp ba, có thể học tiếp không?"),
    ("vi", "toi chi hoc den lop 6 o que nha"),
    ("tr", "35 yaşındayım ve liseyi tamamlamadım"),
    ("tr", "Sadece ilkokul mezunuyum, bu yaştan sonra okula gidebilir miyim?"),
    ("es", "Tengo 35 años y no terminé el bachillerato"),
    ("es", "Solo estudié hasta sexto grado en mi país"),
    ("es", "¿Hay bachillerato a distancia para trabajar y estudiar?"),
    ("fr", "J'ai 35 ans et je n'ai pas fini le lycée"),
    ("fr", "Je veux améliorer ma moyenne pour entrer en médecine"),
    ("fr", "Ma mère est analphabète"),
]
NOT_ADULT_GENERAL_EDUCATION = [
    ("en", "My son will finish comprehensive school next spring, how does the joint application work?"),
    ("en", "I'm 40 and want to study to become a practical nurse at a vocational school"),
    ("en", "My 7-year-old can't read yet, does she need learning support?"),
    ("fi", "Pääsin ylioppilaaksi mutta en päässyt mihinkään kouluun"),
    ("fi", "Lapsella ei ole peruskoulupaikkaa vielä"),
    ("fi", "En osaa lukea suomea, kuka auttaa Kelan kirjeen kanssa?"),
    ("sv", "Min son går ut grundskolan i vår, hur söker man till gymnasiet?"),
    ("sv", "Jag vill skriva om studentbostäder"),
    ("ru", "Не умею читать по-фински письма от Кела"),
    ("uk", "Син закінчує 9 клас, як вступити до ліцею?"),
    ("ar", "ابني ترك المدرسة"),
    ("fa", "سیکل قاعدگیم نامنظمه"),
    ("ckb", "کوڕەکەم ناچێتە قوتابخانە"),
    ("so", "Maanta iskuul ma aadin"),
    ("et", "Tahan kutsekooli täiskasvanuna"),
    ("zh", "我有高中学历，想找工作"),
    ("vi", "Con tôi học xong lớp 9, làm sao lên cấp 3?"),
    ("tr", "Oğlum bu yaşta okula başlayabilir mi?"),
    ("es", "No sé leer finlandés"),
    ("fr", "Je suis candidat libre au permis de conduire"),
]


@pytest.mark.parametrize(
    ("language", "question", "expected"),
    [(lang, q, True) for lang, q in ADULT_GENERAL_EDUCATION] + [(lang, q, False) for lang, q in NOT_ADULT_GENERAL_EDUCATION],
)
def test_an_adult_completing_school_fires_adult_general_education(language: str, question: str, expected: bool) -> None:
    assert ("adult_general_education" in names(load_lexicon(DEFAULT_PATH), question, language, "en", "fi")) is expected
