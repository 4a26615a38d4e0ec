"""Talk to the Rasa server over HTTP: the token-guarded REST channel for turns
(bot/channels/token_channel.py), the HTTP API (with the same token) for parsing and status."""

from __future__ import annotations

import asyncio
import itertools
import logging
import zlib
from typing import Any

import httpx

from knowledge_base.errors import UpstreamUnavailable

logger = logging.getLogger(__name__)

CHANNEL_PATH = "/webhooks/opastin/webhook"
CHANNEL_TOKEN_HEADER = "X-Opastin-Rasa-Token"  # bot/channels/token_channel.py checks it


class RasaClient:
    """One or more Rasa servers sharing one tracker store. A conversation's turns always go
    to the same server (by a hash of its id), so its dialogue state is never worked on by
    two servers at once, even with Rasa's in-memory lock store; NLU-only parses go round."""

    def __init__(self, client: httpx.AsyncClient, base_urls: list[str], token: str, timeout: float) -> None:
        if not base_urls:
            raise ValueError("at least one Rasa server")
        self._client = client
        self._base_urls = [url.rstrip("/") for url in base_urls]
        self._next_parser = itertools.cycle(self._base_urls)
        self._token = token
        self._timeout = timeout

    def server_for(self, sender: str) -> str:
        return self._base_urls[zlib.crc32(sender.encode()) % len(self._base_urls)]

    async def turn(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """The bot's replies to one user message."""
        body = {"sender": sender, "message": text, "metadata": metadata}
        try:
            response = await self._client.post(
                f"{self.server_for(sender)}{CHANNEL_PATH}", json=body, headers={CHANNEL_TOKEN_HEADER: self._token}, timeout=self._timeout
            )
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise UpstreamUnavailable(f"Rasa did not answer: {type(error).__name__}") from error
        replies = response.json()
        return replies if isinstance(replies, list) else []

    async def parse(self, text: str) -> dict[str, Any]:
        """NLU only, no dialogue: used while a counsellor has the conversation."""
        try:
            response = await self._client.post(
                f"{next(self._next_parser)}/model/parse", params={"token": self._token}, json={"text": text}, timeout=self._timeout
            )
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise UpstreamUnavailable(f"Rasa did not parse: {type(error).__name__}") from error
        return dict(response.json())

    async def servers_up(self) -> tuple[int, int]:
        """(servers answering, servers). A conversation whose server is down waits ("one
        moment") and is answered when it is back; the others go on."""
        answers = await asyncio.gather(*(self._server_is_up(url) for url in self._base_urls))
        return sum(answers), len(answers)

    async def _server_is_up(self, base_url: str) -> bool:
        try:
            response = await self._client.get(f"{base_url}/status", params={"token": self._token}, timeout=3)
        except httpx.HTTPError:
            return False
        return response.status_code == 200
