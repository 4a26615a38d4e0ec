import pytest
from knowledge_base.redaction import redact


def valid_hetu(birth: str, sign: str, individual: str) -> str:
    check = "0123456789ABCDEFHJKLMNPRSTUVWXY"[int(birth + individual) % 31]
    return f"{birth}{sign}{individual}{check}"


@pytest.mark.parametrize("sign", ["-", "+", "A", "B", "F", "U", "Y"])
def test_identity_codes_with_every_century_sign(sign: str) -> None:
    code = valid_hetu("131052" if sign not in "ABCDEF" else "010105", sign, "308")
    assert redact(f"hetuni on {code} kiitos") == "hetuni on [HETU] kiitos"


def test_invalid_checksum_is_kept() -> None:
    assert redact("koodi 131052-308A") == "koodi 131052-308A"


@pytest.mark.parametrize(
    "text",
    ["call me on 040 123 4567", "soita +358 40 1234567", "тел. 045-789-1234", "رقمي 0401234567"],
)
def test_phones(text: str) -> None:
    assert "[PHONE]" in redact(text)
    assert not any(ch.isdigit() for ch in redact(text).replace("[PHONE]", ""))


def test_emails_and_ibans() -> None:
    text = "maksa tilille FI21 1234 5600 0007 85 tai meilaa matti.meikalainen@example.fi"
    assert redact(text) == "maksa tilille [IBAN] tai meilaa [EMAIL]"


@pytest.mark.parametrize("text", ["olen 24-vuotias", "asun Vantaalla vuodesta 2019", "klo 10-12", "1.-6. luokka"])
def test_ordinary_numbers_are_kept(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    "text",
    ["Aukioloajat ma-pe 8.00-16.00", "moved here on 12.3.2023", "Kurssi alkaa 15.1.2026 klo 9.15", "Order 2025-11-03"],
)
def test_dates_and_opening_hours_are_not_phone_numbers(text: str) -> None:
    assert redact(text) == text


def test_conversation_ids_are_kept_and_numbers_next_to_them_still_redacted() -> None:
    line = "conversation 0b1e6a2f-4413-4072-9ae8-123456789012 asked to call 040 123 4567"
    assert redact(line) == "conversation 0b1e6a2f-4413-4072-9ae8-123456789012 asked to call [PHONE]"
