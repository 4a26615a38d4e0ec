"""Facts a user states about themselves in free text, in any script: age now;
municipality comes from knowledge_base.municipalities."""

from __future__ import annotations

import re
import unicodedata

MIN_AGE = 5
MAX_AGE = 110

# Words that mark a number as an age in the supported languages; a bare number is an
# age only when it is (almost) the whole message, as in an answer to "how old are you?".
_AGE_WORDS = (
    r"vuo|vee|v\b|år|years?|yrs?|y/?o|old|aged?|лет|год|рок|років|роки|سنة|سنه|عمري|عمر|سال|سالم|سالمە|"
    r"sano|jir|aasta|岁|歲|tuổi|yaş|yaşında|ans?|años?|edad|âge"
)
_NUMBER = r"(\d{1,3})"
_NEAR_AGE_WORD = re.compile(
    rf"(?:{_NUMBER}\s*-?\s*(?:{_AGE_WORDS}))|(?:(?:{_AGE_WORDS})\w*\s*(?:is\s*|on\s*|:)?\s*{_NUMBER})",
    re.IGNORECASE,
)
_BARE_NUMBER = re.compile(rf"^\W*{_NUMBER}\W*$")
# "I am 24, ..." without a unit: a first-person "am"/"have" right before the number, and
# after it only punctuation, the end or "and" ("olen 24 ja asun ...", "I'm 19 and ...");
# "olen 3 kuukautta", "I'm 5 minutes late" stay unread.
_SELF = r"olen|oon|i\s*am|i'?m|jag\s+är|är|мне|мені|tengo|j'ai|ik\s+ben|jestem"
_AND = r"ja|and|och|и|і|та|y|et|ve|và|و|iyo|ning"
_SELF_NUMBER = re.compile(rf"(?:^|\W)(?:{_SELF})\s+{_NUMBER}(?=\s*(?:$|[,.;!?)]|(?:{_AND})\b))", re.IGNORECASE)


def ascii_digits(text: str) -> str:
    """Arabic-Indic, Persian and other Unicode decimal digits as 0-9."""
    return "".join(str(unicodedata.digit(ch)) if ch.isdigit() and not ch.isascii() else ch for ch in text)


def extract_age(text: str) -> int | None:
    normalised = ascii_digits(text)
    match = _BARE_NUMBER.match(normalised)
    candidates = [match.group(1)] if match else []
    for found in _NEAR_AGE_WORD.finditer(normalised):
        candidates.extend(group for group in found.groups() if group)
    candidates.extend(found.group(1) for found in _SELF_NUMBER.finditer(normalised))
    for candidate in candidates:
        age = int(candidate)
        if MIN_AGE <= age <= MAX_AGE:
            return age
    return None
