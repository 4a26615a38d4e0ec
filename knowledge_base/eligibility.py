"""Who a catalogue service is for: age range, immigrants, employment status.

The catalogue has no structured eligibility fields (see shared/README.md), so
everything here is read from the fi/sv/en texts of one raw record. The rules
are deliberately conservative: a wrong age limit hides a service from someone
who may use it, while a missing one only leaves the filtering to the reader.
Numbers are measured against hand labels in bench/bench_eligibility.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["EMPLOYMENT_STATUSES", "Eligibility", "extract_age_range", "extract_eligibility"]

EMPLOYMENT_STATUSES = ("unemployed", "employed", "student", "retired", "entrepreneur")

# Above this a number next to an age word is a year, a count or a typo.
_MAX_AGE = 120
_LANGUAGES = ("fi", "sv", "en")

_AgeRange = tuple[int | None, int | None]


@dataclass(frozen=True)
class Eligibility:
    age_min: int | None = None  # inclusive
    age_max: int | None = None  # inclusive
    immigrants: bool = False  # service is aimed at immigrants
    employment_statuses: tuple[str, ...] = ()  # subset of EMPLOYMENT_STATUSES, sorted


# --- numbers -----------------------------------------------------------------


def _counting(words: str) -> dict[str, int]:
    return {word: n for n, word in enumerate(words.split(), start=1)}


# Small ages are often spelt out ("alle yksivuotiaat", "barn under tre år",
# "turn seven years old"); larger ones always come as digits in this catalogue.
_NUMBER_WORDS = {
    **_counting("yksi kaksi kolme neljä viisi kuusi seitsemän kahdeksan yhdeksän kymmenen"),
    **_counting("yhden kahden kolmen neljän viiden kuuden"),  # fi genitive
    **_counting("en två tre fyra fem sex sju åtta nio tio elva tolv"),
    "ett": 1,
    **_counting("one two three four five six seven eight nine ten eleven twelve"),
}
_WORD = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_NUM = rf"(?:\d{{1,3}}|{_WORD})"
_DASH = r"[-–—−]"
# Finnish compounds write the number as a word stem: "yksivuotiaiden", "kolmevuotias".
_FI_WORD = "yksi|kaksi|kolme|neljä|viisi|kuusi|seitsemän|kahdeksan|yhdeksän|kymmenen"


def _number(token: str) -> int | None:
    token = token.lower()
    if token.isdigit():
        return int(token)
    return _NUMBER_WORDS.get(token)


# --- age patterns --------------------------------------------------------------
# Each pattern has groups `a` (and optionally `b`) and a kind that turns the
# numbers into a range. Qualifiers ("alle", "over", "minst") are captured in `q`.
#
# kinds:
#   range    a..b                 single   a..a (or qualified by q)
#   from     a..None              until    None..a-1 ("18-vuotiaaksi asti")

_FI_AGE = r"\s*-?\s*(?:vuotia|ikäi)"
_SV_AGE = r"(?:\s*år\b|\s*-?\s*åring|\s*-?\s*årig|\s+års\s+ålder)"
_SV_NOT_AGE = r"(?!\s+(?:kvar|sedan|innan|efter|senare|tidigare|framåt|i\s+taget))"
_EN_AGE = r"(?:[- ]?years?[- ]olds?|\s+years?\s+of\s+age|[- ]year-olds?)"
_Q = (
    r"(?P<q>alle|yli|vähintään|enintään|korkeintaan|under|över|minst|högst|yngre än|äldre än|"
    r"over|above|below|younger than|older than|less than|more than)"
)

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in [
        # "15–28-vuotiaat", "12-18 vuotiaille", "7- ja 11-vuotiaat", "13-17-ikäiset"
        ("range", rf"\b(?P<a>{_NUM})\s*(?:-\s*)?(?:{_DASH}|\bja\b|\btai\b)\s*(?P<b>{_NUM}){_FI_AGE}"),
        # "1-, 3- ja 5-vuotiaille": the leading list items
        (
            "single",
            r"\b(?P<a>\d{1,3})-,\s*(?=(?:\d{1,3}-,?\s*)*(?:\d{1,3}-?\s*(?:ja|tai)\s*)?\d{1,3}-?\s*vuotia)",
        ),
        # "18-vuotiaaksi asti", "fram till 18-årsåldern"
        ("until", rf"\b(?P<a>{_NUM}){_FI_AGE}\w*\s+(?:asti|saakka)"),
        ("until", rf"\btill\s+(?P<a>{_NUM})\s*-?\s*årsålder"),
        # "alle 30-vuotiaille", "yli 65-vuotiaat", "6-vuotiaat", "yksivuotiaiden"
        ("single", rf"(?:{_Q}\s+)?\b(?P<a>{_NUM})\s*{_FI_AGE}"),
        ("single", rf"(?:{_Q}\s+)?\b(?P<a>{_FI_WORD})vuotia"),
        # "65 vuotta täyttäneet", "täyttänyt 50 vuotta", "täyttävät seitsemän vuotta"
        ("from", rf"\b(?P<a>{_NUM})\s+vuotta\s+täyttä"),
        ("from", rf"\btäyttä\w*\s+(?P<a>{_NUM})\s+vuotta"),
        ("single", rf"(?:{_Q}\s+)?\b(?P<a>{_NUM})\s+vuotta\s+vanh"),
        # sv: "i åldern 16-29 år", "mellan 30 och 63 år", "13-19-åringar", "i åldern 10-17"
        ("range", rf"\b(?P<a>{_NUM})\s*(?:{_DASH}|\boch\b|\btill\b)\s*(?P<b>{_NUM}){_SV_AGE}"),
        ("range", rf"\bi\s+åldern\s+(?P<a>{_NUM})\s*(?:{_DASH}|\boch\b)\s*(?P<b>{_NUM})"),
        # sv: "som fyllt 55 år", "18 år fyllda", "fyller 13 år"
        ("from", rf"\bfyll(?:t|er|da)\s+(?P<a>{_NUM})\s+år\b"),
        ("from", rf"\b(?P<a>{_NUM})\s+år\s+fyllda"),
        # sv: "under 30 år", "över 65 år", "under 65-åriga", "över 3 års ålder"
        ("single", rf"\b(?P<q>under|över|yngre än|äldre än)\s+(?P<a>{_NUM}){_SV_AGE}{_SV_NOT_AGE}"),
        # sv: "13-åringar", "17-åriga", "4 års ålder", "sjuåringar"
        ("single", r"\b(?P<a>\d{1,3})\s*-?\s*åri(?:ng|g)"),
        ("single", rf"\b(?P<a>{_NUM})\s+års\s+ålder"),
        ("single", r"\b(?P<a>en|två|tre|fyra|fem|sex|sju|åtta|nio|tio|elva|tolv)åri(?:ng|g)"),
        # sv: a plain "14 år" is an age only after "är"/"i åldern" ("Elever som
        # är minst 14 år"); otherwise it is a duration ("verkat minst ett år").
        ("single", rf"\b(?:är|vara|blir|i\s+åldern)\s+(?:(?P<q>minst|högst)\s+)?(?P<a>{_NUM})\s+år\b{_SV_NOT_AGE}"),
        # en: "aged 16-29", "aged 2 to 5", "between the ages of 6 and 17", "ages 13-17"
        ("range", rf"\b(?:aged|ages?(?:\s+of)?)\s+(?P<a>{_NUM})\s*(?:{_DASH}|\bto\b|\band\b)\s*(?P<b>{_NUM})"),
        # en: "15-29 -year-old", "13-23 years of age", "12-18-year-olds"
        ("range", rf"\b(?P<a>{_NUM})\s*(?:{_DASH}|\bto\b)\s*(?P<b>{_NUM})\s*{_EN_AGE}"),
        # en: "aged 55 or over", "ages 55 and above", "aged 18 or older", "aged 15 and over"
        ("from", rf"\b(?:aged|ages?)\s+(?P<a>{_NUM})\s*(?:years\s+)?(?:or|and)\s+(?:over|above|older|up)"),
        # en: "children aged 1, 3 and 5"
        (
            "range",
            rf"\baged\s+(?P<a>{_NUM})(?:\s*,\s*{_NUM})*\s*,?\s*(?:and|or)\s+(?P<b>{_NUM})\b(?!\s*(?:months|weeks))",
        ),
        # en: "aged under 29", "aged less than 29", "over the age of 65", "under 25 years old"
        ("single", rf"\baged\s+{_Q}\s+(?P<a>{_NUM})\b"),
        ("single", rf"{_Q}\s+the\s+age\s+of\s+(?P<a>{_NUM})\b"),
        ("single", rf"(?:{_Q}\s+)?\b(?P<a>{_NUM}){_EN_AGE}"),
        ("single", rf"\baged\s+(?P<a>{_NUM})\b(?!\s*(?:{_DASH}|to\b|and\b|or\b|,|months|weeks))"),
        # en: "those who turn 13", "until the young person turns 21"
        ("from", rf"\bturns?\s+(?P<a>{_NUM})\b(?!\s*(?:months|weeks|days))"),
        # en bare: "people under 25", "Children under 7", "over 65" (checked in _bare_ok)
        ("bare", rf"\b(?P<q>under|over)\s+(?P<a>\d{{1,3}})\b(?!\s*(?:{_DASH}|%|€|\.\d|,\d))"),
    ]
]

# What may follow a bare "under 25" when it is not an age: units and counts.
_BARE_UNIT = re.compile(
    r"\s*(?:years?\b(?![- ]old|\s+of\s+age)|months?|weeks?|days?|hours?|minutes?|seconds?|euros?|eur\b|€|"
    r"per\s*cent|percent|%|km|kg|metres?|meters?|m2|people|persons|participants|members|children|pupils|"
    r"students|visitors|employees|square|times|dygn|timmar|år\b|vuotta)",
    re.IGNORECASE,
)
# Who a bare "under 25" / "over 65" must be about for it to be an age.
_BARE_PERSON = re.compile(
    r"(?:people|persons|those|anyone|everyone|children|child|kids|youths?|young\s+people|adults|residents|"
    r"individuals|students|pupils|women|men|girls|boys|adolescents|teenagers|customers|clients|patients|"
    r"users|for|aged)\W*$",
    re.IGNORECASE,
)

# Phrases showing that a numeric age statement is not about the service's
# target group: conditions for a sub-benefit, fees, third parties, examples.

# "Jos olet alle 25-vuotias, saat ...": the age is a condition for a part of
# the service. Only a condition right before the number counts; "If you are
# looking for services for people over 65" is a target statement.
_CONDITIONAL_BEFORE = re.compile(
    r"\b(?:jos|mikäli)\s+(?:olet|hän\s+on|sinä\s+olet|lapsi\s+on|nuori\s+on|henkilö\s+on)\s+$|"
    r"\bif\s+(?:you|they|he|she|the\s+\w+)\s+(?:are|is)\s+(?:aged\s+)?$|"
    r"\bom\s+(?:du|hen|personen|barnet)\s+är\s+$",
    re.IGNORECASE,
)
# "Hoito on maksutonta alle 18-vuotiaille": a price tier, not a limit.
_FEE = re.compile(
    r"maksu|maksut|maksull|alennu|avgift|rabatt|gratis|kostnadsfri|\bfri\s+tillgång|\bfees?\b|\bcharge|\bfree\b|"
    r"discount|penalty",
    re.IGNORECASE,
)
# The employer's duties, the volunteer's age, the seller's age.
_THIRD_PARTY = re.compile(
    r"työnantaja\w*\s+(?:on|pitää|täytyy)\b|arbetsgivare\w*\s+ska\b|ska\s+\w*\s*arbetsgivare|employer\w*\s+must\b|"
    r"tukihenkilö|stödperson|support\s+person|myynti|försäljning|\bsales?\b|selling",
    re.IGNORECASE,
)
_EXAMPLE = re.compile(r"esimerkiksi|esim\.|for\s+example|e\.g\.|till\s+exempel|t\.ex\.|such\s+as", re.IGNORECASE)
# Words before a number that make it a duration or a point in time, not an age
# ("har bott i Finland i under tre år", "det år de fyller").
_DURATION_BEFORE = re.compile(
    r"\b(?:i|bott|varit|varar|pågår|tar|inom|efter|sedan|med|förlängas|lasts?|lived)\s+$", re.IGNORECASE
)
_UNTIL_BEFORE = re.compile(r"(?:asti|saakka|kunnes|tills|till\s+dess|until)\b[^.]{0,40}$", re.IGNORECASE)

# A description sentence counts only when it says who the service is for;
# names and summaries are about the target group by construction. Plain
# substrings of the lower-cased sentence (fast), then what needs a regex.
# fmt: off
_TARGET_STEMS = (
    # fi
    "tarkoitet", "suunnat", "suunnitellu", "suunniteltu", "kohderyhm", "palvele", "avoin", "tarjoa",
    "oikeus", "oikeutet", "kutsutaan", "tervetul", "kaikille", "kaikkia", "kaikkien",
    # sv
    "avsedd", "riktar sig", "målgrupp", "betjänar", "erbjud", "har rätt", "kallas", "välkom",
    "familjer med barn", "tillhandahåll", "utformad",
    # en
    "intended", "aimed at", "designed for", "target group", "open to", "entitled", "invited", "welcome",
    "everyone", "anyone", "families with children",
    # "13-17-vuotias nuori, joka tarvitsee", "ett barn som behöver", "a child in need of"
    "tarvitse", "som behöver", "in need of",
    # "eri ikätasoille (noin 0-12-vuotiaille)": the audience split by age
    "ikätasoille", "åldersgrupper", "age groups",
)
# fmt: on
_TARGET_CUE = re.compile(
    r"voivat\s+(?:osallistua|käyttää|hakea|äänestää)|voi\s+(?:osallistua|hakea)|\bkaikki\b|perhei\w*,?\s+joissa|"
    r"öppe[nt]\s+för|kan\s+(?:delta|använda|söka|rösta)|rätte?n?\s+till|\balla\b|"
    r"\bserves?\b|\boffers?\b|\bprovides?\b|\ball\b|right\s+to\b|who\s+needs?\b|"
    r"can\s+(?:be\s+used|use|take\s+part|participate|apply|vote)|\b(?:is|are)\s+for\b",
    re.IGNORECASE,
)
# "for children aged ..." is a target statement, but a sentence-initial "For
# children under 18, we prepare ..." is a condition inside the service, and
# "sysselsättningsstöd för personer som fyllt 55 år" names another benefit.
_TARGET_FOR = re.compile(
    r"\b(?:for|för)\s+(?:children|young\s+people|youths?|people|persons|individuals|residents|adults|"
    r"students|pupils|families|women|men|those|teenagers|adolescents|barn|unga|ungdomar|personer|familjer|"
    r"vuxna|elever|studerande|kvinnor|dig|helsingforsbor)\b",
    re.IGNORECASE,
)
_BENEFIT_BEFORE = re.compile(r"(?:\w{3}stöd|\w{3}bidrag|tillägg|subsidy|allowance|benefit|grant)\s*$", re.IGNORECASE)
# A fee sentence still states the target group when it says so outright
# ("Palvelu on maksuton ja avoinna kaikille alle 30-vuotiaille").
_STRONG_TARGET_CUE = re.compile(
    r"tarkoitet|suunnat|avoin|tarjoa|avsedd|riktar\s+sig|öppe[nt]\s+för|erbjud|intended|aimed\s+at|open\s+to|"
    r"\bprovides?\b|\boffers?\b",
    re.IGNORECASE,
)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÅÄÖ0-9\"'(•·*-])|\n+|\s[•·*]\s|\s-\s(?=[A-ZÅÄÖ0-9])")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _qualified(q: str | None, n: int) -> _AgeRange:
    q = (q or "").lower()
    if q in ("alle", "under", "below", "younger than", "less than", "yngre än"):
        return (None, n - 1)
    if q in ("yli", "över", "over", "above", "older than", "more than", "äldre än"):
        return (n + 1, None)
    if q in ("vähintään", "minst"):
        return (n, None)
    if q in ("enintään", "korkeintaan", "högst"):
        return (None, n)
    return (n, n)


def _bare_ok(sentence: str, match: re.Match[str]) -> bool:
    # A bare "under 25" is an age only about people and without a unit after it.
    if _BARE_UNIT.match(sentence, match.end()):
        return False
    before = sentence[: match.start()]
    return not before.strip() or bool(_BARE_PERSON.search(before))


def _statement(kind: str, match: re.Match[str], sentence: str) -> _AgeRange | None:
    a = _number(match.group("a"))
    if a is None or a > _MAX_AGE:
        return None
    before = sentence[: match.start()]
    if kind == "range":
        if _DURATION_BEFORE.search(before):  # "Studierna tar 2-4 år"
            return None
        b = _number(match.group("b"))
        if b is None or b > _MAX_AGE or b < a:
            return None
        return (a, b)
    if kind == "until":
        return (None, a - 1)
    if kind == "from":
        # "siihen asti, että nuori täyttää 21 vuotta" closes the range instead.
        return (None, a - 1) if _UNTIL_BEFORE.search(before) else (a, None)
    if kind == "bare":
        return _qualified(match.group("q"), a) if _bare_ok(sentence, match) else None
    q = match.groupdict().get("q")
    if not q and _DURATION_BEFORE.search(before):
        return None
    if q and _DURATION_BEFORE.search(sentence[: match.start("q")]):
        return None
    return _qualified(q, a)


# Every age pattern needs a digit or one of these; most sentences have neither.
_MAYBE_AGE = re.compile(r"\d|vuotia|vuotta|åri[ng]|\wår\b|\sår\b|ålder|year|\bage", re.IGNORECASE)


def _age_statements(sentence: str) -> Iterator[_AgeRange]:
    """Every age range stated in one sentence, each number span used once."""
    if not _MAYBE_AGE.search(sentence):
        return
    taken: list[tuple[int, int]] = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(sentence):
            span = (match.start("a"), match.end())
            if any(s < span[1] and span[0] < e for s, e in taken):
                continue
            before = sentence[max(0, match.start() - 40) : match.start()]
            if _EXAMPLE.search(before) or _CONDITIONAL_BEFORE.search(before):
                # Consume the span so that "16-67" is not re-read as plain "67".
                taken.append(span)
                continue
            statement = _statement(kind, match, sentence)
            if statement is None:
                continue
            taken.append(span)
            yield statement


def _is_about_others(sentence: str) -> bool:
    """True when the sentence's ages are about a fee or about someone else."""
    if _THIRD_PARTY.search(sentence):
        return True
    return bool(_FEE.search(sentence)) and not _STRONG_TARGET_CUE.search(sentence)


def _has_target_cue(sentence: str) -> bool:
    lowered = " ".join(sentence.lower().split())
    if any(stem in lowered for stem in _TARGET_STEMS) or _TARGET_CUE.search(lowered):
        return True
    return any(
        sentence[: m.start()].strip() and not _BENEFIT_BEFORE.search(sentence[: m.start()])
        for m in _TARGET_FOR.finditer(sentence)
    )


def _target_sentences(text: str, require_cue: bool) -> Iterator[str]:
    for sentence in _sentences(text):
        if require_cue and not _has_target_cue(sentence):
            continue
        yield sentence


def _combine(statements: Iterable[_AgeRange]) -> _AgeRange | None:
    """Widest range covering all statements; None when they cover every age.

    A one-sided statement at the end of a two-sided range restates it
    ("13-22-vuotiaille" ... "alle 23-vuotiaille"), so it does not open it; any
    other adds another group ("16-29-vuotiaille ja yli 30-vuotiaille", or
    "kerhot 2-5-vuotiaille" and "kotihoidon tuki alle 3-vuotiaalle").
    A single age ("kaikille 17-vuotiaille") is too narrow to be restated that way.
    """
    two_sided: list[tuple[int, int]] = []
    from_only: list[int] = []
    until_only: list[int] = []
    for lo, hi in statements:
        if lo is not None and hi is not None:
            two_sided.append((lo, hi))
        elif lo is not None:
            from_only.append(lo)
        elif hi is not None:
            until_only.append(hi)
    if not two_sided:
        if from_only and until_only:  # "15 vuotta täyttäneet" and "alle 15-vuotiaat"
            return None
        if from_only:
            return (min(from_only), None)
        return (None, max(until_only)) if until_only else None
    span_lo = min(lo for lo, _ in two_sided)
    span_hi = max(hi for _, hi in two_sided)
    restates = span_lo < span_hi
    # "yli 12" next to "12-17" is off by one from the range's own end.
    lower = [n for n in from_only if not (restates and span_lo <= n <= span_lo + 1)]
    upper = [n for n in until_only if not (restates and span_hi - 1 <= n <= span_hi)]
    new_lo = None if upper else min([span_lo, *lower])
    new_hi = None if lower else max([span_hi, *upper])
    if new_lo is None and new_hi is None:
        return None
    return (new_lo, new_hi)


# "Vanhusten ja alle 65-vuotiaiden": the elderly plus everyone under 65.
_ELDERLY = re.compile(r"vanhus|vanhuks|ikääntyn|ikäihmi|elderly|older\s+people|\bäldre\b|senior", re.IGNORECASE)


def _sentence_ranges(sentence: str) -> list[_AgeRange]:
    if _is_about_others(sentence):
        return []
    ranges = list(_age_statements(sentence))
    if _ELDERLY.search(sentence):
        # An upper limit next to the elderly means the elderly are added on top.
        ranges += [(hi + 1, None) for lo, hi in ranges if lo is None and hi is not None]
    return ranges


def _ranges_in(text: str, require_cue: bool) -> list[_AgeRange]:
    ranges: list[_AgeRange] = []
    for sentence in _target_sentences(text, require_cue):
        ranges.extend(_sentence_ranges(sentence))
    return ranges


def extract_age_range(text: str) -> tuple[int | None, int | None] | None:
    """Age range stated in one text (fi, sv or en); None when the text states none."""
    return _combine(_ranges_in(text, require_cue=False))


# --- record level ------------------------------------------------------------


def _texts(service: Mapping[str, Any], field: str, languages: Iterable[str] = _LANGUAGES) -> list[str]:
    values = service.get(field) or {}
    return [values[lang] for lang in languages if isinstance(values.get(lang), str) and values[lang]]


@dataclass(frozen=True)
class _TargetSentences:
    """Per language: name/summary sentences, and description sentences with a target cue."""

    headline: dict[str, list[str]]
    described: dict[str, list[str]]

    def all(self) -> Iterator[str]:
        for lang in _LANGUAGES:
            yield from self.headline[lang]
            yield from self.described[lang]


def _target_sentences_of(service: Mapping[str, Any]) -> _TargetSentences:
    headline: dict[str, list[str]] = {}
    described: dict[str, list[str]] = {}
    for lang in _LANGUAGES:
        names_and_summaries = _texts(service, "names", (lang,)) + _texts(service, "summaries", (lang,))
        headline[lang] = [s for text in names_and_summaries for s in _sentences(text)]
        described[lang] = [
            s for text in _texts(service, "descriptions", (lang,)) for s in _target_sentences(text, require_cue=True)
        ]
    return _TargetSentences(headline, described)


def _service_age_range(service: Mapping[str, Any], sentences: _TargetSentences) -> _AgeRange | None:
    headline = {lang: [r for s in sentences.headline[lang] for r in _sentence_ranges(s)] for lang in _LANGUAGES}
    described = {lang: [r for s in sentences.described[lang] for r in _sentence_ranges(s)] for lang in _LANGUAGES}
    stating = [lang for lang in _LANGUAGES if headline[lang] or described[lang]]
    translated = len(_texts(service, "descriptions")) >= 2
    if translated and len(stating) == 1 and not headline[stating[0]]:
        # The descriptions are translations of each other: an age that only one
        # of them states in a target sentence is more likely a sub-rule that the
        # other languages phrase differently than the service's own limit.
        return None
    return _combine(r for lang in _LANGUAGES for r in headline[lang] + described[lang])


# --- immigrants ----------------------------------------------------------------

_IMMIGRANT_TEXT = re.compile(
    r"maahanmuut|maahan\s+muutt|muutt\w*\s+suomeen|kotoutu|paperito|asunut\s+Suomessa\s+alle|"
    r"invandr|inflytt|flytta\w*\s+till\s+finland|integration|papperslös|bott\s+i\s+Finland\s+i\s+under|"
    r"immigra|moved\s+to\s+finland|moving\s+to\s+finland|undocumented|refugee|pakolai|flykting|asylum|turvapaik",
    re.IGNORECASE,
)
# Names and summaries that by themselves make a service one for immigrants:
# integration, Finnish/Swedish as a second language, the pupil's own mother
# tongue, help for people who do not (yet) speak Finnish.
_IMMIGRANT_SERVICE = re.compile(
    r"kotoutu|maahanmuuttaj|maahan\s+muuttane|paperittom|integrationsutbildning|integrationsplan|"
    r"integration\s+(?:training|plan|services?|counselling)|\bimmigrants?\b|invandrare|undocumented|papperslösa|"
    r"toisena\s+kielenä|second\s+language|andra\s+språk|andraspråk|"
    r"oma\w*\s+äidinkiel|kotikiel|eget\s+modersmål|hemspråk|own\s+mother\s+tongue|home\s+language|"
    r"ei\s+(?:vielä\s+)?(?:osaa|puhu)\w*\s+suome|(?:do|does)\s+not\s+(?:yet\s+)?(?:speak|know)\s+(?:enough\s+)?Finnish|"
    r"inte\s+(?:ännu\s+)?talar\s+(?:tillräckligt\s+bra\s+)?finska|"
    r"suomen\s+kielen\s+kurs|Finnish\s+(?:language\s+)?courses|kurser\s+i\s+finska",
    re.IGNORECASE,
)
_IMMIGRATION_EVENTS = {"IMMIGRATING_TO_FINLAND", "KE5"}  # TPR name, PTV code


def _has_immigration_event(service: Mapping[str, Any]) -> bool:
    for event in service.get("life_events") or []:
        code = event if isinstance(event, str) else (event or {}).get("code")
        if code in _IMMIGRATION_EVENTS:
            return True
    return False


def _only_for_immigrants(service: Mapping[str, Any]) -> bool:
    # Helsinki's editors tag 40 services IMMIGRANTS, most of them next to
    # every other group (dental care, libraries); alone it is reliable.
    groups = {group.get("tpr") for group in service.get("target_groups") or []} - {None}
    return groups == {"IMMIGRANTS"}


def _is_for_immigrants(service: Mapping[str, Any]) -> bool:
    headline = " ".join(_texts(service, "names") + _texts(service, "summaries"))
    if _IMMIGRANT_SERVICE.search(headline) or _only_for_immigrants(service):
        return True
    # Many general services (comprehensive school, day care) also carry the
    # immigration life event, so the event needs the text to agree.
    if not _has_immigration_event(service):
        return False
    text = " ".join([headline, *_texts(service, "descriptions")])
    return bool(_IMMIGRANT_TEXT.search(text) or _IMMIGRANT_SERVICE.search(text))


# --- employment status ---------------------------------------------------------

_EMPLOYMENT_PATTERNS = {
    "unemployed": re.compile(
        r"työttöm|työtön|työnhakij|unemploy|job\s*-?seekers?|arbetslös|arbetssökande", re.IGNORECASE
    ),
    "employed": re.compile(
        r"työssäkäyv|työsuhteessa|palkansaaj|(?<!un)\bemployed\b|\bemployees\b(?!\s+(?:of|from)\b)|wage\s+earners?|"
        r"in\s+employment|anställda|arbetstagare(?:na)?\b|löntagare",
        re.IGNORECASE,
    ),
    # Not "student healthcare nurses" / "från studerandehälsovården": the staff.
    "student": re.compile(
        r"opiskelij|opiskelev|\bstudents?\b(?!\s+health\w*\s+(?:nurses?|staff|workers))|(?<!från\s)studerande",
        re.IGNORECASE,
    ),
    "retired": re.compile(
        r"eläkeläi|eläkkeensaaj|eläkkeellä|pensioners?|\bretired\b|retirees?|pensionär", re.IGNORECASE
    ),
    "entrepreneur": re.compile(
        r"yrittäj|entrepreneur|företagare|egenföretag|self-employed|starttiraha|start-up\s+grant", re.IGNORECASE
    ),
}
# "Kotoutumisen palvelut muille kuin työnhakijoille" / "for those who are not
# jobseekers" is for everyone else; "Community workers are employees of ..."
# describes the staff; "support in order to be employed" is a goal.
_NEGATED_BEFORE = re.compile(
    r"(?:muille\s+kuin|other\s+than|andra\s+än|non-|\bei\s+ole|\bnot|\binte|\b(?:are|är|ovat|be))\s*$",
    re.IGNORECASE,
)
# Employers' services (pay subsidy for the employer, recruitment) mention
# jobseekers and employees as the people hired, not as the client.
_EMPLOYER_SERVICE = re.compile(r"työnantaj|employer|arbetsgivar|rekrytointi|recruitment|rekrytering", re.IGNORECASE)
_HIRING = re.compile(r"rekryt|recruit|palkkaa|palkkaami|anställa|\bhir(?:e|ing)\b", re.IGNORECASE)


def _mentions(pattern: re.Pattern[str], sentence: str) -> bool:
    for match in pattern.finditer(sentence):
        if not _NEGATED_BEFORE.search(sentence[max(0, match.start() - 20) : match.start()]):
            return True
    return False


def _employment_statuses(service: Mapping[str, Any], target: _TargetSentences) -> tuple[str, ...]:
    if _EMPLOYER_SERVICE.search(" ".join(_texts(service, "names"))):
        return ()
    sentences = [s for s in target.all() if not _HIRING.search(s)]
    return tuple(
        sorted(
            status for status, pattern in _EMPLOYMENT_PATTERNS.items() if any(_mentions(pattern, s) for s in sentences)
        )
    )


def extract_eligibility(service: Mapping[str, Any]) -> Eligibility:
    """service = one raw catalogue record (dict from the jsonl files)."""
    sentences = _target_sentences_of(service)
    age = _service_age_range(service, sentences) or (None, None)
    return Eligibility(
        age_min=age[0],
        age_max=age[1],
        immigrants=_is_for_immigrants(service),
        employment_statuses=_employment_statuses(service, sentences),
    )
