"""Rasa's REST channel behind a token: the API is the channel's one client, and Rasa 3.6's
own `rest` channel takes messages from anyone who can reach the port. Loopback alone
would let any local process speak as any conversation.

bot/credentials.yml names it as ``bot.channels.token_channel.TokenRestInput`` with
``token: ${OPASTIN_RASA_TOKEN}`` (the token of Rasa's HTTP API, filled in from the
environment by Rasa); the API sends it in the ``X-Opastin-Rasa-Token`` header to
``/webhooks/opastin/webhook``. Everything else (body, metadata, replies) is the REST
channel's.
"""

from __future__ import annotations

import hmac
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

TOKEN_HEADER = "X-Opastin-Rasa-Token"


class TokenRestInput(RestInput):
    """The REST channel, refusing every request without the shared token (401)."""

    @classmethod
    def name(cls) -> Text:
        return "opastin"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        token = str((credentials or {}).get("token") or "")
        if not token or token.startswith("${"):
            raise ValueError("the opastin channel needs a token (OPASTIN_RASA_TOKEN) in bot/credentials.yml")
        return cls(token)

    def __init__(self, token: Text) -> None:
        self._token = token

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)

        @webhook.middleware("request")
        async def require_token(request: Request) -> Optional[HTTPResponse]:
            if hmac.compare_digest(request.headers.get(TOKEN_HEADER, "").encode(), self._token.encode()):
                return None
            return response.json({"error": "token required"}, status=401)

        return webhook
