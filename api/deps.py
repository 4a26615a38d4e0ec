"""Typed dependencies: route signatures read as plain arguments."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.chat import ChatService
from api.notifier import Notifier
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


def _chat(request: Request) -> ChatService:
    return request.app.state.chat  # type: ignore[no-any-return]


def _notifier(request: Request) -> Notifier:
    return request.app.state.notifier  # type: ignore[no-any-return]


ChatDep = Annotated[ChatService, Depends(_chat)]
NotifierDep = Annotated[Notifier, Depends(_notifier)]
