"""Eligibility extraction: age patterns in fi/sv/en, false positives, the
immigrant and employment rules on real records, and a floor on the measured
precision/recall against bench/eligibility_labels.yml."""

from __future__ import annotations

import dataclasses
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from knowledge_base.eligibility import (
    EMPLOYMENT_STATUSES,
    Eligibility,
    extract_age_range,
    extract_eligibility,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "knowledge_base" / "data"


@cache
def catalogue() -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    for name in ("kb_helsinki_tpr_services.jsonl", "kb_ptv_general_descriptions.jsonl"):
        with (DATA / name).open(encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                records[record["id"]] = record
    return records


def record(service_id: str) -> dict[str, Any]:
    return catalogue()[service_id]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # fi
        ("15–28-vuotiaat", (15, 28)),
        ("15-29-vuotiaille", (15, 29)),
        ("Operaatio Pulssi tarjoaa 12-18 -vuotiaille nuorille harrastuksia.", (12, 18)),
        ("16 ja 29 -vuotiaat", (16, 29)),
        ("13-17-ikäiset", (13, 17)),
        ("alle 30-vuotiaille", (None, 29)),
        ("alle 18-vuotiaiden", (None, 17)),
        ("yli 65-vuotiaat", (66, None)),
        ("65 vuotta täyttäneet", (65, None)),
        ("olet täyttänyt 55 vuotta", (55, None)),
        ("Tuemme alle yksivuotiaiden lasten perheitä.", (None, 0)),
        ("Oikeus kestää siihen asti, että nuori täyttää 21 vuotta.", (None, 20)),
        # sv
        ("18-29 år", (18, 29)),
        ("under 30 år", (None, 29)),
        ("unga under 25 år", (None, 24)),
        ("personer över 65 år", (66, None)),
        ("för personer mellan 30 och 63 år", (30, 63)),
        ("ungdomar i åldern 16-29 år", (16, 29)),
        ("Redaktionen för 13-19-åringar", (13, 19)),
        ("personer som fyllt 55 år", (55, None)),
        ("Elever som är minst 14 år", (14, None)),
        # en
        ("aged 55 or over", (55, None)),
        ("individuals aged 64 and over", (64, None)),
        ("over 65", (66, None)),
        ("under 25", (None, 24)),
        ("The use of the studios is open to people under 25.", (None, 24)),
        ("young people aged 16 to 29", (16, 29)),
        ("International youth group meetings for 14-29-year-olds", (14, 29)),
        ("a guidance center for every 15-29 -year-old", (15, 29)),
        ("If help is needed, 13-23 years of age", (13, 23)),
        ("between the ages of 6 and 17", (6, 17)),
        ("children under the age of 18", (None, 17)),
        ("residents over the age of 13", (14, None)),
        ("intended for 6-year-old children", (6, 6)),
    ],
)
def test_age_patterns(text: str, expected: tuple[int | None, int | None]) -> None:
    assert extract_age_range(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Palvelu on avattu vuonna 2020.",
        "Ala-asteen kouluissa voi olla 1.-6. luokat tai 1.-4. luokat.",
        "lower secondary level schools (classes 7-9)",
        "Palvelemme arkisin klo 10-12.",
        "Open Mon-Fri 10-12.",
        "Soita numeroon +358 9 310 15454 ma-pe klo 9-12.",
        "om förmögenheten är under 20 000 euro",
        "Kurssi maksaa 10-20 euroa.",
        "a discount of over 50 %",
        "The service usually lasts 3-6 months.",
        "Laina-aika on 2-3 viikkoa.",
        "Lukio-opinnot kestävät 2-4 vuotta.",
        "Studierna tar 2-4 år.",
        "med 2-3 års mellanrum",
        "olet asunut Suomessa alle 3 vuotta",
        "har bott i Finland i under tre år",
        "Sökanden ska ha minst ett år kvar av grundskolan.",
        "9-vuotisessa peruskoulussa saa yleissivistävän pohjakoulutuksen.",
        "Esimerkiksi 5-vuotias lapsi voi tarvita tukea puheen kehitykseen.",
        "Support is given, for example, to a 5-year-old child with speech delay.",
        "yli 130-vuotiaat",
        "BMI yli 30",
        "The group has under 10 participants.",
        # conditions, fees and third parties are not the target group's range
        "Jos olet alle 25-vuotias, saat ehkäisypillerit vuodeksi.",
        "Studioiden käyttö on alle 25-vuotiaille maksutonta.",
        "Tukihenkilösi tulee olla yli 16-vuotias.",
        # both sides covered: everyone
        "Omatoimikirjastoja voivat käyttää 15 vuotta täyttäneet ja alle 15-vuotiaat lapset huoltajan luvalla.",
        "Vanhusten ja alle 65-vuotiaiden monisairaiden ohjaus",
    ],
)
def test_not_an_age_range(text: str) -> None:
    assert extract_age_range(text) is None


def test_several_statements_give_the_widest_range() -> None:
    assert extract_age_range("Palvelemme 16-29-vuotiaita ja yli 30-vuotiaita työikäisiä.") == (16, None)
    assert extract_age_range("Kerhot 2-5-vuotiaille. Kotihoidon tuki alle 3-vuotiaalle lapselle.") == (None, 5)
    # A one-sided restatement of a range's end does not widen it.
    assert extract_age_range("Moottorihalli 13-22-vuotiaille. Halli on alle 23-vuotiaille.") == (13, 22)
    assert extract_age_range("Tarkoitettu 12-17-vuotiaille. Tuemme yli 12-vuotiaita nuoria.") == (12, 17)


def test_eligibility_shape() -> None:
    default = Eligibility()
    assert (default.age_min, default.age_max, default.immigrants, default.employment_statuses) == (
        None,
        None,
        False,
        (),
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        default.age_min = 3  # type: ignore[misc]
    assert EMPLOYMENT_STATUSES == ("unemployed", "employed", "student", "retired", "entrepreneur")


def test_record_age_combines_languages() -> None:
    # fi "yli 30-vuotiaille" alone would give 31; sv "fyllt 30 år" and en "aged 30 and above" say 30.
    adult = extract_eligibility(record("hel-tpr:7669"))
    assert (adult.age_min, adult.age_max) == (30, None)
    outreach = extract_eligibility(record("hel-tpr:6446"))
    assert (outreach.age_min, outreach.age_max) == (15, 28)


def test_record_without_age_and_record_with_a_fee_age() -> None:
    assert extract_eligibility(record("hel-tpr:10293")).age_min is None  # "Laina-aika on 1-4 viikkoa"
    dental = extract_eligibility(record("hel-tpr:2721"))  # fees "18 vuotta täyttäneiltä"
    assert (dental.age_min, dental.age_max) == (None, None)


def test_integration_service_is_for_immigrants() -> None:
    assert extract_eligibility(record("hel-tpr:10091")).immigrants  # Kotoutumissuunnitelma
    # PTV: no Helsinki target groups, life event as a code (KE5)
    assert extract_eligibility(record("ptv-gd:345a217a-ea70-47d5-b1b9-9ce9053be90d")).immigrants


def test_immigration_life_event_needs_the_text_to_agree() -> None:
    school = record("hel-tpr:2773")  # Perusopetus carries IMMIGRATING_TO_FINLAND
    assert "IMMIGRATING_TO_FINLAND" in school["life_events"]
    assert not extract_eligibility(school).immigrants
    # Monikulttuurinen toiminta: life event plus "maahanmuuttajille" in the description.
    assert extract_eligibility(record("hel-tpr:2987")).immigrants


def test_immigration_life_event_alone_is_not_enough() -> None:
    service = {
        "id": "test:1",
        "names": {"en": "Swimming hall"},
        "summaries": {"en": "Swim all year round."},
        "descriptions": {"en": "Open to all."},
        "life_events": ["IMMIGRATING_TO_FINLAND"],
    }
    assert not extract_eligibility(service).immigrants


def test_employment_statuses() -> None:
    # "Palvelu on tarkoitettu helsinkiläisille eläkeläisille ja työttömille" (description only)
    assert extract_eligibility(record("hel-tpr:3257")).employment_statuses == ("retired", "unemployed")
    # "Kotoutumisen palvelut muille kuin työnhakijoille": not for jobseekers
    assert "unemployed" not in extract_eligibility(record("hel-tpr:9910")).employment_statuses
    # Employer's pay subsidy: the jobseeker is who gets hired, not the client.
    assert extract_eligibility(record("hel-tpr:9858")).employment_statuses == ()
    assert extract_eligibility(record("hel-tpr:9818")).employment_statuses == ("entrepreneur",)


def test_employment_statuses_are_sorted_known_values() -> None:
    for service in catalogue().values():
        statuses = extract_eligibility(service).employment_statuses
        assert statuses == tuple(sorted(statuses))
        assert set(statuses) <= set(EMPLOYMENT_STATUSES)


def test_hand_labels_precision_and_recall() -> None:
    with (ROOT / "bench" / "eligibility_labels.yml").open(encoding="utf-8") as f:
        labels = yaml.safe_load(f)
    assert len(labels) >= 60
    tp = fp = fn = 0
    for label in labels:
        has_label = label["age_min"] is not None or label["age_max"] is not None
        got = extract_eligibility(record(label["id"]))
        has_got = got.age_min is not None or got.age_max is not None
        tp += has_label and has_got
        fp += has_got and not has_label
        fn += has_label and not has_got
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= 0.9, f"precision {precision:.3f}"
    assert recall >= 0.85, f"recall {recall:.3f}"
