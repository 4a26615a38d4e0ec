"""The click-through route's store: which links a service has in the catalogue, their
stable ids, signed card links, and the record of a user opening one.

A link id is the first 12 hex digits of the SHA-256 of the URL, so the id of a card's
link is known without a lookup table, and the route can only ever redirect to a URL the
catalogue holds for that service (never a URL taken from the request: no open redirect).
Functions take `session=` and never commit.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy.orm import Session

from knowledge_base.errors import NotFound
from knowledge_base.models import Conversation, Service, ServiceClick

LINK_ID_LENGTH = 12
SIGNATURE_LENGTH = 16
ROUTE_PREFIX = "/r"


def link_id(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:LINK_ID_LENGTH]


def _is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def catalogue_urls(service: Service) -> Iterator[str]:
    """Every web link the catalogue holds for the service: its links in each language
    and its channels' web addresses (the same places search takes a card's URL from)."""
    links: dict[str, Any] = service.links or {}
    for entries in links.values():
        for entry in entries or []:
            url = entry.get("url") if isinstance(entry, dict) else None
            if isinstance(url, str) and _is_web_url(url):
                yield url
    for channel in service.channels or []:
        for url in (channel.get("urls") or []) if isinstance(channel, dict) else []:
            if isinstance(url, str) and _is_web_url(url):
                yield url


def resolve(*, session: Session, service_id: str, link: str) -> str:
    """The catalogue URL of the service with that link id; NotFound for anything else."""
    service = session.get(Service, service_id)
    if service is None:
        raise NotFound("no such service")
    for url in catalogue_urls(service):
        if link_id(url) == link:
            return url
    raise NotFound("no such link for this service")


def record_click(
    *, session: Session, service_id: str, link: str, conversation_id: str | None, now: datetime
) -> ServiceClick:
    """Store an opened link; an unknown conversation id is dropped, never stored."""
    if conversation_id is not None and session.get(Conversation, conversation_id) is None:
        conversation_id = None
    click = ServiceClick(conversation_id=conversation_id, service_id=service_id, link_id=link, created_at=now)
    session.add(click)
    session.flush()
    return click


@dataclass(frozen=True)
class ClickLinks:
    """Card links through the click route, the conversation id in them signed: a click
    counts for a conversation only through a link that conversation was shown. Anyone
    else's request (an id typed or guessed into the URL) still redirects, counted for no
    conversation."""

    key: bytes

    def path(self, service_id: str, url: str, conversation_id: str | None) -> str:
        """The click-through path for a card's URL (relative: the API serves it)."""
        path = f"{ROUTE_PREFIX}/{quote(service_id, safe='')}/{link_id(url)}"
        if not conversation_id:
            return path
        signature = self._signature(service_id, conversation_id)
        return f"{path}?c={quote(conversation_id, safe='')}&s={signature}"

    def conversation(self, service_id: str, conversation_id: str | None, signature: str | None) -> str | None:
        """The conversation a click counts for: the link's, if its signature is right."""
        if not conversation_id or not signature:
            return None
        if not hmac.compare_digest(signature, self._signature(service_id, conversation_id)):
            return None
        return conversation_id

    def _signature(self, service_id: str, conversation_id: str) -> str:
        message = f"{service_id}\n{conversation_id}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()[:SIGNATURE_LENGTH]
