"""The conversation API: the widget and Telegram both go through ChatService."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from api.deps import ChatDep, NotifierDep

router = APIRouter(prefix="/api/chat", tags=["chat"])
TOKEN_HEADER = "X-Conversation-Token"
KEEPALIVE_SECONDS = 15.0

TokenHeader = Annotated[str | None, Header(alias=TOKEN_HEADER, description="The token returned when the conversation was created.")]


class ChatRequest(BaseModel):
    conversation_id: str | None = None
    client_message_id: str | None = Field(default=None, max_length=80)
    text: str = Field(max_length=4000)
    channel: str = Field(default="web", pattern="^(web|telegram)$")


class Button(BaseModel):
    title: str
    payload: str


class ServiceCard(BaseModel):
    id: str
    name: str
    url: str | None = None
    why: list[str] = []
    text_language: str
    contact: dict[str, str] = {}


class ChatMessage(BaseModel):
    id: int
    seq: int
    author: str
    text: str
    buttons: list[Button]
    services: list[ServiceCard]


class ChatResponse(BaseModel):
    conversation_id: str
    language: str
    state: str
    messages: list[ChatMessage]


@router.post("", response_model=ChatResponse)
async def post_message(body: ChatRequest, chat: ChatDep, response: Response, token: TokenHeader = None) -> ChatResponse:
    reply = await chat.send(
        conversation_id=body.conversation_id,
        token=token,
        text=body.text,
        client_message_id=body.client_message_id,
        channel=body.channel,
    )
    if reply.token:
        response.headers[TOKEN_HEADER] = reply.token
    return ChatResponse.model_validate(reply, from_attributes=True)


@router.get("/{conversation_id}/messages", response_model=ChatResponse)
async def get_messages(
    conversation_id: str, chat: ChatDep, token: TokenHeader = None, after: Annotated[int, Query(ge=0)] = 0
) -> ChatResponse:
    reply = await chat.messages_after(conversation_id=conversation_id, token=token, after=after)
    return ChatResponse.model_validate(reply, from_attributes=True)


@router.get("/{conversation_id}/events")
async def events(
    conversation_id: str,
    chat: ChatDep,
    notifier: NotifierDep,
    token: TokenHeader = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    after: Annotated[int, Query(ge=0)] = 0,
) -> StreamingResponse:
    """Server-sent events: one `message` event per message (id = seq), resuming after Last-Event-ID."""
    await chat.check_access(conversation_id=conversation_id, token=token)
    start = int(last_event_id) if last_event_id and last_event_id.isdigit() else after

    async def stream() -> AsyncIterator[str]:
        seq = start
        while True:
            event = notifier.event(conversation_id)
            reply = await chat.messages_after(conversation_id=conversation_id, token=token, after=seq)
            for message in reply.messages:
                seq = message["seq"]
                data = json.dumps({**message, "state": reply.state, "language": reply.language}, ensure_ascii=False)
                yield f"id: {seq}\nevent: message\ndata: {data}\n\n"
            try:
                await asyncio.wait_for(event.wait(), timeout=KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})
