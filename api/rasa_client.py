"""Talk to the Rasa server over HTTP: the REST channel for turns, the HTTP API (with
its token) for parsing and status."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from knowledge_base.errors import UpstreamUnavailable

logger = logging.getLogger(__name__)


class RasaClient:
    def __init__(self, client: httpx.AsyncClient, base_url: str, token: str, timeout: float) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout

    async def turn(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """The bot's replies to one user message."""
        body = {"sender": sender, "message": text, "metadata": metadata}
        try:
            response = await self._client.post(
                f"{self._base_url}/webhooks/rest/webhook", json=body, timeout=self._timeout
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
                f"{self._base_url}/model/parse", params={"token": self._token}, json={"text": text}, timeout=self._timeout
            )
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise UpstreamUnavailable(f"Rasa did not parse: {type(error).__name__}") from error
        return dict(response.json())

    async def is_up(self) -> bool:
        try:
            response = await self._client.get(f"{self._base_url}/status", params={"token": self._token}, timeout=3)
        except httpx.HTTPError:
            return False
        return response.status_code == 200
