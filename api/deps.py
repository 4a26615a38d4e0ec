"""Typed dependencies: route signatures read as plain arguments."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from knowledge_base.search import SearchService
from knowledge_base.settings import Settings


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def _search(request: Request) -> SearchService:
    return request.app.state.search  # type: ignore[no-any-return]


def _session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(_settings)]
SearchDep = Annotated[SearchService, Depends(_search)]
SessionDep = Annotated[Session, Depends(_session)]
