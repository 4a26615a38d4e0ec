"""Public response shapes. Internal expert instructions have no field here on purpose."""

from __future__ import annotations

from pydantic import BaseModel


class Hit(BaseModel):
    id: str
    score: float
    name: str
    summary: str
    text_language: str
    url: str | None
    why: list[str]
    eligibility: str


class SearchResponse(BaseModel):
    language: str
    results: list[Hit]
    messages: list[str]


class PublicText(BaseModel):
    language: str
    name: str
    summary: str
    description: str


class PublicService(BaseModel):
    id: str
    organisation_id: str
    area_type: str
    municipality_code: str | None
    texts: list[PublicText]
    links: dict[str, list[dict[str, str | None]]]
    channels: list[dict[str, object]]
    source_url: str | None
    licence: str
    source_as_of: str = ""  # the import date, or the last review (issue 7)
    outdated: bool = False
    notice: str | None = None  # shown to users when outdated, in the requested language


class SourceInfo(BaseModel):
    title: str
    licence: str
    licence_url: str
    origin: str
    file: str


class About(BaseModel):
    name: str
    sources: list[SourceInfo]
