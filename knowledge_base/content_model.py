"""The editable content of a service as one JSON document, its validation and a
readable diff between two versions.

    {"texts": {"fi": {"name", "summary", "description", "synonyms", "internal_instructions"}, ...},
     "eligibility": {"age_min", "age_max", "municipalities", "employment_statuses",
                     "target_groups", "life_events", "immigrants"},
     "channels": [{...}, ...],
     "links": {"fi": [{"title", "url"}], ...}}

Text is stored exactly as typed (a `<script>` tag stays text); every page escapes it.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

from knowledge_base.eligibility import EMPLOYMENT_STATUSES
from knowledge_base.errors import InvalidQuery
from knowledge_base.models import Service
from knowledge_base.municipalities import MunicipalityDirectory

CONTENT_LANGUAGES: tuple[str, ...] = ("fi", "sv", "en")
TEXT_FIELDS: tuple[str, ...] = ("name", "summary", "description", "synonyms", "internal_instructions")
# Characters per field. Descriptions in the bundled catalogue stay under 12,000; the
# limits keep one edit from bloating the index (passages clip at 1,500 anyway).
TEXT_LIMITS: dict[str, int] = {
    "name": 300,
    "summary": 2_000,
    "description": 20_000,
    "synonyms": 2_000,
    "internal_instructions": 20_000,
}
LIST_FIELDS: tuple[str, ...] = ("municipalities", "employment_statuses", "target_groups", "life_events")
MAX_LIST_ITEMS = 400
MAX_CHANNELS_JSON = 100_000
MAX_AGE = 120
_TARGET_GROUP = re.compile(r"^KR\d+(\.\d+)*$")
_LIFE_EVENT = re.compile(r"^[\w .,'()/-]{1,120}$")


def empty_content() -> dict[str, Any]:
    return {
        "texts": {},
        "eligibility": {"age_min": None, "age_max": None, "immigrants": None, **{name: [] for name in LIST_FIELDS}},
        "channels": [],
        "links": {},
    }


def content_of(row: Service) -> dict[str, Any]:
    """The live (published) content of a service row."""
    content = empty_content()
    content["texts"] = {
        text.language: {field: getattr(text, field) or "" for field in TEXT_FIELDS} for text in row.texts
    }
    content["eligibility"].update({k: v for k, v in (row.curated_eligibility or {}).items() if k in content["eligibility"]})
    content["channels"] = list(row.channels or [])
    content["links"] = dict(row.links or {})
    return content


def _text(value: object, where: str, problems: list[str]) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.append(f"{where}: expected text")
        return ""
    return value.replace("\r\n", "\n").strip()


def _age(value: object, where: str, problems: list[str]) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        age = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        age = None
    if age is None or not 0 <= age <= MAX_AGE:
        problems.append(f"{where}: expected a whole number from 0 to {MAX_AGE}")
        return None
    return age


def _codes(value: object, where: str, problems: list[str]) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [part for part in re.split(r"[,\n]", value)]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{where}: expected a list of codes")
        return []
    items = sorted({v.strip() for v in value if v.strip()})
    if len(items) > MAX_LIST_ITEMS:
        problems.append(f"{where}: at most {MAX_LIST_ITEMS} items")
    return items


def validate(raw: object, municipalities: MunicipalityDirectory) -> dict[str, Any]:
    """A clean content document, or InvalidQuery listing every problem found."""
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise InvalidQuery("content: expected an object with texts, eligibility, channels and links")
    content = empty_content()

    texts = raw.get("texts") or {}
    if not isinstance(texts, dict):
        problems.append("texts: expected an object keyed by language")
        texts = {}
    for language, fields in sorted(texts.items()):
        if language not in CONTENT_LANGUAGES:
            problems.append(f"texts.{language}: language must be one of {', '.join(CONTENT_LANGUAGES)}")
            continue
        if not isinstance(fields, dict):
            problems.append(f"texts.{language}: expected an object")
            continue
        clean = {field: _text(fields.get(field), f"{field} ({language})", problems) for field in TEXT_FIELDS}
        for field, limit in TEXT_LIMITS.items():
            if len(clean[field]) > limit:
                problems.append(f"{field} ({language}) is {len(clean[field]):,} characters; the limit is {limit:,}")
                clean[field] = ""
        if not any(clean.values()):
            continue  # an untouched language column
        if not clean["name"]:
            problems.append(f"name ({language}): a language with text needs a name")
        content["texts"][language] = clean
    if not any(fields["name"] for fields in content["texts"].values()):
        problems.append("name: give the service a name in at least one language")

    eligibility = raw.get("eligibility") or {}
    if not isinstance(eligibility, dict):
        problems.append("eligibility: expected an object")
        eligibility = {}
    out = content["eligibility"]
    out["age_min"] = _age(eligibility.get("age_min"), "age_min", problems)
    out["age_max"] = _age(eligibility.get("age_max"), "age_max", problems)
    if out["age_min"] is not None and out["age_max"] is not None and out["age_max"] < out["age_min"]:
        problems.append(f"age_max ({out['age_max']}) is below age_min ({out['age_min']})")
    for name in LIST_FIELDS:
        out[name] = _codes(eligibility.get(name), name, problems)
    unknown = [code for code in out["municipalities"] if municipalities.by_code(code) is None]
    if unknown:
        problems.append(f"municipalities: unknown municipality code {', '.join(unknown)}")
    wrong = [s for s in out["employment_statuses"] if s not in EMPLOYMENT_STATUSES]
    if wrong:
        problems.append(f"employment_statuses: {', '.join(wrong)} not one of {', '.join(EMPLOYMENT_STATUSES)}")
    wrong = [g for g in out["target_groups"] if not _TARGET_GROUP.match(g)]
    if wrong:
        problems.append(f"target_groups: {', '.join(wrong)} is not a PTV target group code such as KR1.3")
    if any(not _LIFE_EVENT.match(event) for event in out["life_events"]):
        problems.append("life_events: names of at most 120 letters, digits and punctuation")
    immigrants = eligibility.get("immigrants")
    if immigrants not in (None, True, False, "", "true", "false", "on"):
        problems.append("immigrants: expected true, false or empty")
    out["immigrants"] = True if immigrants in (True, "true", "on") else (False if immigrants in (False, "false") else None)

    channels = raw.get("channels") or []
    if not isinstance(channels, list) or not all(isinstance(c, dict) for c in channels):
        problems.append("channels: expected a list of objects")
    elif len(json.dumps(channels, ensure_ascii=False)) > MAX_CHANNELS_JSON:
        problems.append(f"channels: at most {MAX_CHANNELS_JSON:,} characters of JSON")
    else:
        content["channels"] = channels

    links = raw.get("links") or {}
    if not isinstance(links, dict):
        problems.append("links: expected an object keyed by language")
        links = {}
    for language, items in sorted(links.items()):
        if not isinstance(items, list):
            problems.append(f"links.{language}: expected a list")
            continue
        clean_links = []
        for item in items:
            url = str((item or {}).get("url", "")).strip() if isinstance(item, dict) else ""
            title = str((item or {}).get("title", "")).strip() if isinstance(item, dict) else ""
            if not url and not title:
                continue
            if not re.match(r"^https?://[^\s<>\"]+$", url) or len(url) > 1000:
                problems.append(f"links.{language}: {url[:80]!r} is not an http(s) address")
                continue
            clean_links.append({"title": title[:300], "url": url})
        if clean_links:
            content["links"][language] = clean_links

    if problems:
        raise InvalidQuery("; ".join(problems))
    return content


def lines_of(content: dict[str, Any]) -> list[str]:
    """A stable line-per-fact rendering that diffs readably."""
    lines: list[str] = []
    for language in sorted(content.get("texts", {})):
        for field in TEXT_FIELDS:
            value = content["texts"][language].get(field, "")
            for n, line in enumerate(str(value).splitlines() or [""]):
                lines.append(f"{field} [{language}]{'' if n == 0 else ' …'}: {line}")
    for name, value in sorted((content.get("eligibility") or {}).items()):
        rendered = ", ".join(value) if isinstance(value, list) else ("" if value is None else str(value))
        lines.append(f"eligibility {name}: {rendered}")
    for language in sorted(content.get("links") or {}):
        for link in content["links"][language]:
            lines.append(f"link [{language}]: {link.get('title', '')} <{link.get('url', '')}>")
    for channel in content.get("channels") or []:
        lines.append(f"channel: {json.dumps(channel, ensure_ascii=False, sort_keys=True)}")
    return lines


def diff(old: dict[str, Any], new: dict[str, Any], old_label: str, new_label: str) -> list[str]:
    """Unified diff lines (difflib) from `old` to `new`; empty when nothing changed."""
    return list(difflib.unified_diff(lines_of(old), lines_of(new), fromfile=old_label, tofile=new_label, lineterm="", n=1))
