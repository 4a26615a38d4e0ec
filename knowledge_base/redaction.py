"""Remove personal data from text before it is written to logs or analytics:
Finnish personal identity codes (checksum verified, incl. the 2023 century signs),
IBANs (checksum verified), e-mail addresses and phone numbers."""

from __future__ import annotations

import re

from stdnum import iban
from stdnum.fi import hetu

# Century signs: + (1800s), - U V W X Y (1900s), A B C D E F (2000s).
_HETU = re.compile(r"\b\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]\b", re.IGNORECASE)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# International or Finnish-style numbers of 7-15 digits, with spaces, dashes or brackets.
_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\d[\d\s().-]{5,18}\d(?!\w)")

PLACEHOLDERS = {"hetu": "[HETU]", "iban": "[IBAN]", "email": "[EMAIL]", "phone": "[PHONE]"}


def _replace_valid(pattern: re.Pattern[str], validate: object, placeholder: str, text: str) -> str:
    def substitute(match: re.Match[str]) -> str:
        return placeholder if validate(match.group(0).upper()) else match.group(0)  # type: ignore[operator]

    return pattern.sub(substitute, text)


def _is_hetu(candidate: str) -> bool:
    # Temporary codes (individual number 900-999) identify people too.
    return hetu.is_valid(candidate, allow_temporary=True)


# Dates (12.3.2023, 2025-11-03) and opening hours (8.00-16.00) have phone-like digit runs.
_DATE_OR_TIME = re.compile(
    r"\d{1,2}\.\d{1,2}\.(?:\d{2}|\d{4})|\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[.:]\d{2}\s*[-–]\s*\d{1,2}[.:]\d{2}"
)


def _is_phone(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    return 7 <= len(digits) <= 15 and _DATE_OR_TIME.fullmatch(candidate.strip()) is None


# Conversation ids are random UUIDs, not personal data; their digit groups look like phone numbers.
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")


def redact(text: str) -> str:
    kept, start = [], 0
    for uuid in _UUID.finditer(text):
        kept += [_redact(text[start : uuid.start()]), uuid.group()]
        start = uuid.end()
    return "".join([*kept, _redact(text[start:])])


def _redact(text: str) -> str:
    text = _replace_valid(_HETU, _is_hetu, PLACEHOLDERS["hetu"], text)
    text = _replace_valid(_IBAN, iban.is_valid, PLACEHOLDERS["iban"], text)
    text = _EMAIL.sub(PLACEHOLDERS["email"], text)
    return _replace_valid(_PHONE, _is_phone, PLACEHOLDERS["phone"], text)
