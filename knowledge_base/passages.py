"""Build the text passages that are embedded and indexed for each service.

A service gets one passage per catalogue language it has (fi, sv, en) and per
passage kind. The text of a passage is what the vector cache is keyed by, so a
change here re-encodes exactly the passages whose text changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from knowledge_base.contracts import ServiceText

MAX_PASSAGE_CHARS = 1500
# "title": name, summary and synonyms. "full": the same followed by the description.
PASSAGE_KINDS = ("title", "full")


@dataclass(frozen=True)
class Passage:
    service_id: str
    language: str
    kind: str
    text: str


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return cut[:space] if space > limit * 0.8 else cut


def _title_text(text: ServiceText) -> str:
    title = text.name.strip().rstrip(".")
    if text.summary.strip():
        title += ". " + text.summary.strip()
    if text.synonyms.strip():
        title += f" ({text.synonyms.strip()})"
    return title


def passages_for_service(
    service_id: str, texts: Mapping[str, ServiceText], kinds: Iterable[str] = PASSAGE_KINDS
) -> list[Passage]:
    passages = []
    for language, text in sorted(texts.items()):
        if not text.name:
            continue
        title = _title_text(text)
        description = text.description.strip()
        for kind in kinds:
            if kind == "title":
                body = title
            elif kind == "full":
                body = title + ("\n" + description if description else "")
            else:
                raise ValueError(f"unknown passage kind {kind!r}")
            passages.append(Passage(service_id, language, kind, _clip(body, MAX_PASSAGE_CHARS)))
    return passages
