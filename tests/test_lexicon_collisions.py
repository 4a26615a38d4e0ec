"""Collisions in the shipped domain lexicon: a query word that, as a word beginning or a
substring, also matches a word of a different meaning must not fire its concept, and the
need the word stood for must still fire (through the narrower forms that replaced it)."""

from __future__ import annotations

import pytest

from knowledge_base.lexicon import DEFAULT_PATH, load_lexicon


def fired(text: str, language: str) -> list[str]:
    """Concepts the question mentions in its own language only (no shared languages)."""
    return [c.name for c in load_lexicon(DEFAULT_PATH).concepts_in(text, (language,))]


# (language, sentence of another meaning, concept that must not fire)
COLLISIONS = [
    ("fi", "Milloin pitää mennä neuvolaan?", "career_guidance"),  # neuvo- : maternity clinic
    ("fi", "Haen kotihoidon tukea lapselle", "older_people"),  # child home care allowance
    ("fi", "Olen liikuntarajoitteinen", "leisure"),  # mobility impaired
    ("fi", "Naapuri ahdistelee minua", "mental_health"),  # harassment
    ("fi", "Mieheni pelaa nettikasinolla", "digital_support"),
    ("fi", "En pääse kotoa ulos, polvi on kipeä", "homelessness"),  # can't get out of the house
    ("sv", "Hur registrera företag?", "registering_residence"),
    ("sv", "Jag vill ha rådgivning för företagare", "pregnancy_and_baby"),
    ("en", "Is there a nursery near us?", "health_care"),
    ("en", "I need a babysitter", "pregnancy_and_baby"),
    ("en", "Job for people 55 or older", "older_people"),
    ("en", "How do I get a Finnish passport?", "finnish_language_course"),
    ("en", "My son finished lower secondary school", "upper_secondary"),
    ("en", "Company registration for my business", "registering_residence"),
    ("en", "My elderly mother is home alone all day", "child_protection"),
    ("en", "We need couples counselling", "career_guidance"),
    ("et", "Eakas ema on üksi kodus", "child_protection"),
    ("et", "Hooldusõigus pärast lahutust", "older_people"),
    ("et", "Otsin elukohta Tallinnas", "registering_residence"),
    ("es", "No recibo la pensión alimenticia", "pension"),
    ("es", "Busco residencia de estudiantes", "residence_permit"),
    ("es", "Mi hija terminó la preparatoria", "preparatory_education"),
    ("es", "Mis padres mayores viven solos en casa", "child_protection"),
    ("fr", "Il ne paie pas la pension alimentaire", "pension"),
    ("fr", "Expulsion du territoire après un refus", "homelessness"),
    ("fr", "Mon mari est accro aux paris sportifs", "leisure"),
    ("fr", "Inscrire mon fils à l'école", "registering_residence"),
    ("ru", "Перевод в другую школу", "interpreting"),
    ("ru", "Регистрация фирмы", "registering_residence"),
    ("uk", "Місце в гуртожитку", "leisure"),
    ("uk", "Зарплатна субсидія для роботодавця", "rent_and_housing_allowance"),
    ("uk", "Дитина в молодших класах", "youth"),
    ("vi", "Tôi bị mất việc", "bereavement"),
    ("vi", "Ở nhà sinh viên", "dental_care"),
    ("vi", "Con bị đuổi học", "homelessness"),
    ("vi", "Công ty không có nhân viên", "homelessness"),
    ("vi", "Viec lam cho hoc sinh", "library"),
    ("vi", "Toi khong co bang cap 3", "youth"),
    ("vi", "Bà tôi ở nhà một mình", "child_protection"),
    ("tr", "55 yas ustu is", "bereavement"),
    ("tr", "Kiralık ev bakıyorum", "informal_care"),
    ("tr", "Doktora programına başvurmak istiyorum", "health_care"),
    ("tr", "Okula yazdırmak istiyorum", "library"),
    ("tr", "Okula kayıt nasıl yapılır?", "registering_residence"),
    ("tr", "Okuldan ayrılmak", "divorce_and_separation"),
    ("tr", "Yalnız anne olarak çalışıyorum", "mental_health"),
    ("tr", "Annemi yalnız bırakamıyorum", "child_protection"),
    ("zh", "我有慢性病", "student_health_care"),
    ("zh", "妇女庇护所", "homelessness"),
    ("zh", "怎么登录suomi.fi", "finnish_language_course"),
    ("zh", "我妈妈独自在家", "child_protection"),
    ("ar", "الصحة الجنسية للطلاب", "citizenship"),
    ("ar", "سن المدرسة في فنلندا", "dental_care"),
    ("ar", "حضانة الأطفال بعد الطلاق", "early_childhood_education"),
    ("ar", "بدي ادرس دكتوراه", "health_care"),
    ("ar", "الجيران بيضربوا ولادهم", "pregnancy_and_baby"),
    ("ar", "امي عايشة لحالها", "mental_health"),
    ("ar", "تسجيل بالمدرسة", "registering_residence"),
    ("ar", "عربة كهربائية", "vocational_education"),
    ("ar", "الجنسية الفنلندية", "finnish_language_course"),
    ("ar", "انفصلت من العمل", "divorce_and_separation"),
    ("fa", "بعد از مدرسه راهنمایی", "career_guidance"),
    ("fa", "ماری جوانا", "youth"),
    ("fa", "جرم گیری دندان", "violence_and_safety"),
    ("fa", "شماره شناسایی", "leisure"),
    ("fa", "آمادگی برای مصاحبه", "preparatory_education"),
    ("fa", "سن ورود به مدرسه", "digital_support"),
    ("fa", "جای خواب ندارم", "mental_health"),
    ("fa", "می خوام دکترا بخونم", "health_care"),
    ("fa", "پاسپورت فنلاندی", "finnish_language_course"),
    ("ckb", "پیروسکولو", "older_people"),
    ("ckb", "ناونووسینی قوتابخانە", "registering_residence"),
    ("so", "buug amaahan", "debt_and_money"),
    ("so", "iskuul galo", "digital_support"),
    ("so", "gargaar sharci", "residence_permit"),
    ("so", "daryeelka carruurta", "older_people"),
    ("so", "waan ka tagay ninkayga", "leaving_school"),
    ("so", "dhalasho finnish", "finnish_language_course"),
]


@pytest.mark.parametrize(("language", "text", "concept"), COLLISIONS)
def test_a_word_of_another_meaning_does_not_fire(language: str, text: str, concept: str) -> None:
    assert concept not in fired(text, language)


# (language, the need as people write it, concept that must still fire)
NEEDS = [
    ("fi", "Tarvitsen neuvoa opiskelusta", "career_guidance"),
    ("fi", "Äidille kotihoito", "older_people"),
    ("fi", "Mistä liikuntaa lapselle?", "leisure"),
    ("fi", "Minua ahdistaa koko ajan", "mental_health"),
    ("fi", "Netti ei toimi", "digital_support"),
    ("fi", "Isä heitti minut ulos", "homelessness"),
    ("sv", "Hur ska jag registrera mig?", "registering_residence"),
    ("sv", "Tid på rådgivningen för bebisen", "pregnancy_and_baby"),
    ("en", "I need a nurse", "health_care"),
    ("en", "We are having a baby", "pregnancy_and_baby"),
    ("en", "Services for older people", "older_people"),
    ("en", "Where is a Finnish course?", "finnish_language_course"),
    ("en", "Applying to upper secondary school", "upper_secondary"),
    ("en", "Address registration after moving", "registering_residence"),
    ("en", "The neighbour's kids are home alone", "child_protection"),
    ("en", "I need a career counsellor", "career_guidance"),
    ("et", "Lapsed on üksi kodus", "child_protection"),
    ("et", "Vanaema vajab hooldust", "older_people"),
    ("et", "Elukoha muutmine", "registering_residence"),
    ("es", "Cuándo cobro mi pensión de jubilación", "pension"),
    ("es", "Permiso de residencia", "residence_permit"),
    ("es", "Clase preparatoria para mi hijo", "preparatory_education"),
    ("es", "Los vecinos dejan a sus hijos solos", "child_protection"),
    ("fr", "Ma pension de retraite", "pension"),
    ("fr", "Expulsé de mon logement", "homelessness"),
    ("fr", "Faire du sport", "leisure"),
    ("ru", "Нужен устный перевод", "interpreting"),
    ("ru", "Регистрация по месту жительства", "registering_residence"),
    ("uk", "Гуртки для дітей", "leisure"),
    ("uk", "Житлова субсидія", "rent_and_housing_allowance"),
    ("uk", "Центр для молоді", "youth"),
    ("uk", "Хочу вчитися", "studies"),
    ("vi", "Mẹ tôi đã mất", "bereavement"),
    ("vi", "Tìm nha si", "dental_care"),
    ("vi", "Tôi bị đuổi khỏi nhà", "homelessness"),
    ("vi", "Toi khong co nha", "homelessness"),
    ("vi", "Con ở nhà một mình", "child_protection"),
    ("tr", "Annemi kaybettim, yastayım", "bereavement"),
    ("tr", "Anneme bakıyorum", "informal_care"),
    ("tr", "Doktora gitmek istiyorum", "health_care"),
    ("tr", "Çok yalnızım", "mental_health"),
    ("tr", "Eşimden ayrılmak istiyorum", "divorce_and_separation"),
    ("tr", "Çocukları yalnız bırakıyorlar", "child_protection"),
    ("zh", "我想做性病检测", "student_health_care"),
    ("zh", "我需要收容所", "homelessness"),
    ("zh", "孩子独自在家", "child_protection"),
    ("ar", "طلب الجنسية", "citizenship"),
    ("ar", "وجع اسنان", "dental_care"),
    ("ar", "مكان بالحضانة لابني", "early_childhood_education"),
    ("ar", "بدي موعد عند الدكتور", "health_care"),
    ("ar", "اشعر بالوحدة", "mental_health"),
    ("ar", "تسجيل العنوان", "registering_residence"),
    ("ar", "بدي اتعلم فنلندي", "finnish_language_course"),
    ("fa", "راهنمایی شغلی", "career_guidance"),
    ("fa", "مرکز جوانان", "youth"),
    ("fa", "کلاس آمادگی", "preparatory_education"),
    ("fa", "کلاس شنا", "leisure"),
    ("fa", "باید برم دکتر", "health_care"),
    ("fa", "کلاس زبان فنلاندی", "finnish_language_course"),
    ("ckb", "دایکم پیرە", "older_people"),
    ("so", "shaqo ma haysto, sharci ma lihi", "residence_permit"),
    ("so", "dugsiga ka tagay", "leaving_school"),
    ("so", "af finnish baro", "finnish_language_course"),
]


@pytest.mark.parametrize(("language", "text", "concept"), NEEDS)
def test_the_need_still_fires(language: str, text: str, concept: str) -> None:
    assert concept in fired(text, language)
