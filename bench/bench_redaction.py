"""Recall and false positives of PII redaction (knowledge_base/redaction.py) on a
generated set: messages in nine languages with planted Finnish identity codes (all
century signs, temporary numbers), phone numbers (Finnish and international formats),
e-mail addresses and IBANs (FI and other countries, with and without spaces), plus
PII-free messages full of numbers that must survive (dates, ages, postcodes, prices,
years, opening hours, service ids).

    .venv/bin/python bench/bench_redaction.py [--n 1500] [--seed 7] [--out bench/results/redaction.json]

Recall = planted items that no longer appear in the redacted text. A false positive
is a PII-free message whose text changed.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stdnum import iban as stdnum_iban  # noqa: E402

from knowledge_base.redaction import redact  # noqa: E402

HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CENTURY_SIGNS = {1800: "+", 1900: "-YXWVU", 2000: "ABCDEF"}
IBAN_LENGTHS = {"FI": 14, "SE": 20, "EE": 16, "DE": 18, "NO": 11, "FR": 23}

TEMPLATES = {
    "fi": ["Hei, henkilötunnukseni on {pii}, voinko hakea tukea?", "Soita minulle numeroon {pii} kiitos",
           "Sähköpostini: {pii}. Olen 24-vuotias ja asun Vantaalla", "tilinumero {pii} maksua varten"],
    "sv": ["Mitt personnummer är {pii}, kan ni hjälpa?", "Ring mig på {pii} efter kl 16", "Min e-post {pii}"],
    "en": ["my id code is {pii} and I lost my job", "call me on {pii}", "email me at {pii} please",
           "my bank account {pii} for the allowance"],
    "ar": ["رقم هويتي {pii} أحتاج مساعدة", "اتصل بي على {pii}", "بريدي الإلكتروني {pii}"],
    "so": ["lambarkayga aqoonsiga waa {pii}", "ii soo wac {pii} fadlan", "iimaylkayga {pii}"],
    "ru": ["мой личный код {pii}, потерял работу", "позвоните мне {pii}", "моя почта {pii}"],
    "uk": ["мій ідентифікаційний код {pii}", "телефон {pii}", "мій рахунок {pii}"],
    "fa": ["کد ملی من {pii} است", "با من تماس بگیرید {pii}", "ایمیل من {pii}"],
    "et": ["minu isikukood on {pii}", "helistage mulle {pii}", "minu e-post {pii}"],
}
CLEAN = [
    "Olen 19-vuotias ja asun Helsingissä, postinumero 00530", "Aukioloajat ma-pe 8.00-16.00, la 10-14",
    "I was born in 2004 and moved here on 12.3.2023", "Rent is 1 200 € a month, I earn 1850 euros",
    "Kurssi alkaa 15.1.2026 klo 9.15 ja kestää 12 viikkoa", "Palvelu hel-tpr:8971 ja 2773",
    "I have 3 kids aged 4, 7 and 11", "Haen 500 euron tukea, tuloni 2024 olivat 18 000 €",
    "Room 204, building B, floor 2", "Jag är 67 år och bor i Esbo sedan 1998",
    "Мне 45 лет, живу здесь 3 года", "عمري 30 سنة وأعيش في هلسنكي منذ 2019",
    "Bus 550 leaves at 7:45 from stop 1234", "Order 2025-11-03, case 17/2025",
    "my score was 87 out of 100 in the YKI test level 3", "PIN code of the door is 4321",
]


def hetu(rng: random.Random) -> str:
    century = rng.choice([1800, 1900, 1900, 1900, 2000, 2000])
    born = date(century, 1, 1) + timedelta(days=rng.randrange(36500))
    individual = rng.randrange(2, 1000)  # 900-999: temporary codes
    number = int(f"{born:%d%m%y}{individual:03d}")
    return f"{born:%d%m%y}{rng.choice(CENTURY_SIGNS[century])}{individual:03d}{HETU_CHECK[number % 31]}"


def iban(rng: random.Random) -> str:
    """A valid IBAN: ISO 7064 check digits and, where a country has one, its national
    account check (drawn again until stdnum accepts it, as a real account would)."""
    country = rng.choice(list(IBAN_LENGTHS))
    while True:
        bban = "".join(rng.choice(string.digits) for _ in range(IBAN_LENGTHS[country]))
        numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
        code = f"{country}{98 - int(numeric) % 97:02d}{bban}"
        if stdnum_iban.is_valid(code):
            break
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4)) if rng.random() < 0.5 else code


def phone(rng: random.Random) -> str:
    subscriber = "".join(rng.choice(string.digits) for _ in range(7))
    return rng.choice([
        f"040 {subscriber[:3]} {subscriber[3:]}", f"050-{subscriber}", f"+358 44 {subscriber[:3]} {subscriber[3:]}",
        f"+35840{subscriber}", f"09 {subscriber[:3]} {subscriber[3:]}", f"(09) {subscriber[:4]} {subscriber[4:]}",
        f"+46 70 {subscriber[:3]} {subscriber[3:5]} {subscriber[5:]}", f"+372 5{subscriber}", f"0045{subscriber}",
    ])  # fmt: skip


def email(rng: random.Random) -> str:
    name = rng.choice(["maija.meikalainen", "ahmed_ali", "olga+tyo", "j.smith", "faduma99", "petrenko.o"])
    return f"{name}@{rng.choice(['example.fi', 'mail.example.com', 'posti.example.net'])}"


KINDS = {"hetu": hetu, "iban": iban, "phone": phone, "email": email}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1500, help="messages with planted PII")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "redaction.json")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    found, planted, misses = Counter(), Counter(), []
    by_language: Counter[str] = Counter()
    by_language_found: Counter[str] = Counter()
    for _ in range(args.n):
        language = rng.choice(list(TEMPLATES))
        kind = rng.choice(list(KINDS))
        value = KINDS[kind](rng)
        text = rng.choice(TEMPLATES[language]).format(pii=value)
        redacted = redact(text)
        planted[kind] += 1
        by_language[language] += 1
        if value not in redacted:
            found[kind] += 1
            by_language_found[language] += 1
        elif len(misses) < 20:
            misses.append({"kind": kind, "text": text, "redacted": redacted})
    changed = [(text, redact(text)) for text in CLEAN if redact(text) != text]

    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    result = {
        "commit": commit or None,
        "seed": args.seed,
        "messages": args.n,
        "recall": round(sum(found.values()) / args.n, 4),
        "recall_by_kind": {kind: round(found[kind] / planted[kind], 4) for kind in sorted(planted)},
        "recall_by_language": {lang: round(by_language_found[lang] / by_language[lang], 4) for lang in sorted(by_language)},
        "clean_messages": len(CLEAN),
        "false_positives": len(changed),
        "false_positive_examples": [{"text": a, "redacted": b} for a, b in changed],
        "missed_examples": misses,
    }
    print(f"{'kind':8} {'planted':>8} {'recall':>8}")
    for kind in sorted(planted):
        print(f"{kind:8} {planted[kind]:>8} {found[kind] / planted[kind]:>8.4f}")
    print(f"all      {args.n:>8} {result['recall']:>8.4f}   false positives: {len(changed)}/{len(CLEAN)} clean messages")
    for a, b in changed:
        print(f"  FP: {a!r} -> {b!r}")
    for miss in misses[:10]:
        print(f"  missed {miss['kind']}: {miss['text']!r} -> {miss['redacted']!r}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
