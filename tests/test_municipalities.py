from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge_base.errors import DataUnavailable
from knowledge_base.municipalities import Municipality, MunicipalityDirectory, finnish_stems


@pytest.fixture(scope="module")
def directory() -> MunicipalityDirectory:
    return MunicipalityDirectory.load()


def _code(m: Municipality | None) -> str | None:
    return m.code if m is not None else None


def test_bundled_file_has_all_municipalities(directory: MunicipalityDirectory) -> None:
    assert len(directory) == 309
    assert MunicipalityDirectory.load() is directory  # the default directory is shared


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("091", "Helsinki"),
        ("91", "Helsinki"),
        ("49", "Espoo"),
        ("005", "Alajärvi"),
        (" 853 ", "Turku"),
        ("KU091", "Helsinki"),
    ],
)
def test_by_code(directory: MunicipalityDirectory, code: str, expected: str) -> None:
    m = directory.by_code(code)
    assert m is not None and m.name_fi == expected


@pytest.mark.parametrize("code", ["", "999", "0910", "abc", "-91"])
def test_by_code_unknown(directory: MunicipalityDirectory, code: str) -> None:
    assert directory.by_code(code) is None


def test_municipality_fields(directory: MunicipalityDirectory) -> None:
    assert directory.by_code("091") == Municipality(code="091", name_fi="Helsinki", name_sv="Helsingfors")


# Inflected forms in free text -> code.
FIND_CASES = [
    ("asun Vantaalla", "092"),
    ("Asun Espoossa ja tarvitsen päivähoitoa", "049"),
    ("Muutin Helsingistä viime vuonna", "091"),
    ("Asun Lahdessa", "398"),
    ("Muutamme Lahteen syksyllä", "398"),
    ("Opiskelen Turussa", "853"),
    ("Muutin Turkuun töiden perässä", "853"),
    ("Asumme Tampereella", "837"),
    ("Asun Jyväskylässä", "179"),
    ("olen töissä Rovaniemellä", "698"),
    ("Asun Seinäjoella perheeni kanssa", "743"),
    ("Asun Hyvinkäällä", "106"),
    ("Asun Porissa", "609"),
    ("Asun Kemissä", "240"),
    ("Asun Oulussa ja etsin työtä", "564"),
    ("Lappeenrannassa on hyvä kirjasto?", "405"),
    ("Hangossa asuu paljon ruotsinkielisiä", "078"),
    ("Asun Kaskisissa", "231"),
    ("Kauniaisissa on uimahalli", "235"),
    ("Muutin Varkauteen", "915"),
    ("Asun Orivedellä", "562"),
    ("Asun Pihtiputaalla", "601"),
    ("Asun Uudessakaupungissa", "895"),
    ("Asun Mänttä-Vilppulassa", "508"),
    ("Asun Itä-Helsingissä", "091"),
    ("Olen helsinkiläinen opiskelija", "091"),
    ("Asun Helsingissäkin joskus", "091"),
    ("Muutin Iihin", "139"),
    ("Asun Salossa", "734"),
    # Swedish
    ("Jag bor i Esbo", "049"),
    ("Jag flyttade till Helsingfors", "091"),
    ("Vi bor i Vasa", "905"),
    ("Jag bor i S:t Karins", "202"),
    ("Esbos simhall", "049"),
    # English and others in Latin script
    ("I live in Helsinki", "091"),
    ("I just moved to Vantaa", "092"),
    ("Helsinki's library card", "091"),
    ("I live in Jyvaskyla and need a doctor", "179"),
    ("Tengo que ir a Espoo mañana", "049"),
    ("Lahti'ye yeni taşındık", "398"),
    ("Espoo'da oturuyorum", "049"),
    ("Elan Espoos ja otsin tööd", "049"),
    ("Kolisime Tamperesse", "837"),
    # transliterations
    ("Я живу в Хельсинки", "091"),
    ("Мы переехали в Эспоо", "049"),
    ("Живу у Вантаа", "092"),
    ("Я живу в Ювяскюле", "179"),
    ("أعيش في هلسنكي", "091"),
    ("انتقلت إلى فانتا", "092"),
    ("من در اسپو زندگی می‌کنم", "049"),
    ("من لە ئیسپۆ دەژیم", "049"),
    ("انتقلنا إلى توركو", "853"),
    ("أسكن بهلسنكي", "091"),
    ("我住在赫尔辛基", "091"),
    ("我们在坦佩雷", "837"),
    ("Я живу в Оулу", "564"),
    # whole message is the name
    ("Ii", "139"),
    ("Salo", "734"),
    ("Vantaa", "092"),
    ("Helsingfors", "091"),
]


@pytest.mark.parametrize(("text", "code"), FIND_CASES)
def test_find_in_text(directory: MunicipalityDirectory, text: str, code: str) -> None:
    assert _code(directory.find_in_text(text)) == code


def test_find_in_text_returns_first_mention(directory: MunicipalityDirectory) -> None:
    assert _code(directory.find_in_text("Muutin Espoosta Vantaalle")) == "049"
    assert _code(directory.find_in_text("I moved from Turku to Helsinki")) == "853"


# Messages that mention no municipality, several with words that are also names.
NO_MUNICIPALITY = [
    "Menetin työpaikkani ja tarvitsen apua toimeentulotuen hakemiseen",
    "Kemia on vaikea aine koulussa",
    "Kotka lensi järven yli",
    "Koski kuohuu keväällä",
    "Lapsi tarvitsee päivähoitopaikan elokuusta",
    "laihia ihmisiä ei ole paljon",
    "traktori jäi pellossa jumiin",
    "Hanko ja lapio ovat vajassa",
    "Kaarina on siskoni ja Simo on veljeni",
    "Salla ja Inari tulevat huomenna kylään",
    "Tarvitsen apua kelan ja te-toimiston kanssa",
    "Haluan ilmoittautua suomen kielen kurssille",
    "Mistä saan tietoa asumistuesta?",
    "I need help paying my rent and electricity bill",
    "My Nokia phone is broken",
    "She has a calm aura about her",
    "I had a car accident yesterday",
    "Where can I learn Finnish in the evenings?",
    "Jag studerar kemi och matematik",
    "Stora barn och små barn",
    "Han är sund och frisk",
    "Jag behöver hjälp med hyran",
    "Vi ska geta i skogen",
    "Ii sheeg waxa aan sameeyo",
    "Salla bunu lütfen",
    "",
    "   ",
    "091",
    "👍",
]


@pytest.mark.parametrize("text", NO_MUNICIPALITY)
def test_find_in_text_no_false_positives(directory: MunicipalityDirectory, text: str) -> None:
    assert directory.find_in_text(text) is None


def test_common_word_needs_evidence(directory: MunicipalityDirectory) -> None:
    assert directory.find_in_text("Salo on kaunis kaupunki") is None  # sentence start, nominative
    assert _code(directory.find_in_text("Asun Salossa")) == "734"
    assert _code(directory.find_in_text("asun salossa")) == "734"  # lower case after a living verb
    assert directory.find_in_text("metsä on salossa") is None
    assert _code(directory.find_in_text("I live in Salo")) == "734"
    assert _code(directory.find_in_text("Salon kaupunki")) == "734"
    assert _code(directory.find_in_text("Asun Inarissa")) == "148"
    assert _code(directory.find_in_text("I work in Nokia")) == "536"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Helsinki", "091"),
        ("helsinki", "091"),
        ("HELSINKI", "091"),
        ("Helsingfors", "091"),
        ("Esbo", "049"),
        ("i Esbo", "049"),
        ("Vantaalla", "092"),
        ("Lahdessa", "398"),
        ("Turku / Åbo", "853"),
        ("Jyvaskyla", "179"),
        ("Hameenlinna", "109"),
        ("Seinajoella", "743"),
        ("Helsinkki", "091"),
        ("Vanta", "092"),
        ("Koski Tl", "284"),
        ("Pedersören kunta", "599"),
        ("Pedersöre", "599"),
        ("Mänttä", "508"),
        ("Ii", "139"),
        ("Salo", "734"),
        ("kemi", "240"),
        ("091", "091"),
        ("91", "091"),
        ("Хельсинки", "091"),
        ("هلسنكي", "091"),
        ("赫尔辛基", "091"),
        ("Helsinki, Finland", "091"),
        ("Vantaan kaupunki", "092"),
    ],
)
def test_resolve(directory: MunicipalityDirectory, text: str, code: str) -> None:
    assert _code(directory.resolve(text)) == code


@pytest.mark.parametrize("text", ["", " ", "Finland", "Stockholm", "xyz", "Tallinn", "12345"])
def test_resolve_unknown(directory: MunicipalityDirectory, text: str) -> None:
    assert directory.resolve(text) is None


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("lahti", "lahde"),
        ("lahti", "lahte"),
        ("turku", "turu"),
        ("helsinki", "helsingi"),
        ("rovaniemi", "rovanieme"),
        ("seinäjoki", "seinäjoe"),
        ("tampere", "tamperee"),
        ("kaskinen", "kaskisi"),
        ("varkaus", "varkaude"),
        ("kannus", "kannukse"),
        ("pihtipudas", "pihtiputaa"),
        ("lappeenranta", "lappeenranna"),
        ("hanko", "hango"),
        ("outokumpu", "outokummu"),
        ("orivesi", "orivede"),
        ("mänttä-vilppula", "mänttä-vilppula"),
    ],
)
def test_finnish_stems(name: str, stem: str) -> None:
    assert stem in finnish_stems(name)


def test_every_name_resolves_to_itself(directory: MunicipalityDirectory) -> None:
    for m in directory:
        assert directory.resolve(m.name_fi) == m
        assert directory.resolve(m.name_sv) == m
        assert directory.resolve(m.code) == m


def test_load_custom_file(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"municipalities": [{"code": "91", "name_fi": "Helsinki", "name_sv": "Helsingfors"}]}))
    aliases = tmp_path / "a.yml"
    aliases.write_text("aliases:\n  '091': [Stadi]\n")
    d = MunicipalityDirectory.load(path, aliases)
    assert len(d) == 1
    assert _code(d.resolve("Stadissa")) == "091"
    assert d.resolve("Espoo") is None


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailable):
        MunicipalityDirectory.load(tmp_path / "missing.json")


def test_aliases_must_name_known_codes(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"municipalities": [{"code": "091", "name_fi": "Helsinki", "name_sv": "Helsingfors"}]}))
    aliases = tmp_path / "a.yml"
    aliases.write_text("aliases:\n  '999': [Nowhere]\n")
    with pytest.raises(ValueError):
        MunicipalityDirectory.load(path, aliases)
