"""The conversation API: the widget and Telegram both go through ChatService."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, field_validator

from api.chat import absolute_links
from api.notifier import QUEUE_CHANNEL
from api.deps import ChatDep, NotifierDep
from knowledge_base.language import SUPPORTED_LANGUAGES

router = APIRouter(prefix="/api/chat", tags=["chat"])
TOKEN_HEADER = "X-Conversation-Token"
KEEPALIVE_SECONDS = 15.0
QUEUE_RECHECK_SECONDS = 5.0

TokenHeader = Annotated[str | None, Header(alias=TOKEN_HEADER, description="The token returned when the conversation was created.")]


class ChatRequest(BaseModel):
    conversation_id: str | None = None
    client_message_id: str | None = Field(default=None, max_length=80)
    text: str = Field(max_length=4000)
    channel: str = Field(default="web", pattern="^(web|telegram)$")
    language: str | None = Field(
        default=None,
        description="The page's or app's language: a new conversation's language when its first message is "
        "too short to tell (\"hi\", \"ok\"). One of the supported language codes.",
    )

    @field_validator("language")
    @classmethod
    def supported(cls, value: str | None) -> str | None:
        if value is not None and value not in SUPPORTED_LANGUAGES:
            raise ValueError(f"unknown language {value!r}; use one of {', '.join(SUPPORTED_LANGUAGES)}")
        return value


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


class QueueStatus(BaseModel):
    state: str = Field(description="bot, leave_offer, waiting, assigned or offline")
    position: int | None = Field(description="1 = next in the shared queue; null unless waiting")
    estimate_minutes: int | None = Field(description="null until the queue has enough recent history")
    text: str = Field(description="The same, as a sentence in the conversation's language")


@router.post("", response_model=ChatResponse)
async def post_message(
    body: ChatRequest, chat: ChatDep, request: Request, response: Response, token: TokenHeader = None
) -> ChatResponse:
    if body.conversation_id:
        # The token first: a caller without it must not spend the conversation's allowance
        # (knowing an id would be enough to silence its citizen with 429s).
        await chat.check_access(conversation_id=body.conversation_id, token=token)
        wait = request.app.state.conversation_limits.take(body.conversation_id)
        if wait > 0:
            raise HTTPException(429, "too many messages in this conversation; wait a moment", {"Retry-After": str(max(1, round(wait)))})
    request.app.state.metrics.chat_turns.labels(body.channel).inc()
    reply = await chat.send(
        conversation_id=body.conversation_id,
        token=token,
        text=body.text,
        client_message_id=body.client_message_id,
        channel=body.channel,
        language_hint=body.language,
    )
    if reply.token:
        response.headers[TOKEN_HEADER] = reply.token
    absolute_links(reply.messages, str(request.base_url))
    return ChatResponse.model_validate(reply, from_attributes=True)


@router.get("/{conversation_id}/messages", response_model=ChatResponse)
async def get_messages(
    conversation_id: str, chat: ChatDep, request: Request, token: TokenHeader = None, after: Annotated[int, Query(ge=0)] = 0
) -> ChatResponse:
    reply = await chat.messages_after(conversation_id=conversation_id, token=token, after=after)
    absolute_links(reply.messages, str(request.base_url))
    return ChatResponse.model_validate(reply, from_attributes=True)


@router.get("/{conversation_id}/queue", response_model=QueueStatus)
async def get_queue_status(conversation_id: str, chat: ChatDep, token: TokenHeader = None) -> QueueStatus:
    """Where the conversation is in the counsellor queue."""
    return QueueStatus.model_validate(await chat.queue_status(conversation_id=conversation_id, token=token))


@router.get("/{conversation_id}/events")
async def events(
    conversation_id: str,
    chat: ChatDep,
    notifier: NotifierDep,
    request: Request,
    token: TokenHeader = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    after: Annotated[int, Query(ge=0)] = 0,
) -> StreamingResponse:
    """Server-sent events: one `message` event per message (id = seq), resuming after
    Last-Event-ID, and a `queue` event (the JSON of GET …/queue) whenever that changes."""
    await chat.check_access(conversation_id=conversation_id, token=token)
    start = int(last_event_id) if last_event_id and last_event_id.isdigit() else after

    base_url = str(request.base_url)

    async def stream() -> AsyncIterator[str]:
        seq = start
        last_queue: dict[str, object] | None = None
        while True:
            event = notifier.event(conversation_id)
            queue_event = notifier.event(QUEUE_CHANNEL)  # taken before reading: no change is missed
            reply = await chat.messages_after(conversation_id=conversation_id, token=token, after=seq)
            for message in absolute_links(reply.messages, base_url):
                seq = message["seq"]
                data = json.dumps({**message, "state": reply.state, "language": reply.language}, ensure_ascii=False)
                yield f"id: {seq}\nevent: message\ndata: {data}\n\n"
            status = await chat.queue_status(conversation_id=conversation_id, token=token)
            if status != last_queue:
                # No id: a resumed stream starts from the messages; the queue state is sent anew.
                yield f"event: queue\ndata: {json.dumps(status, ensure_ascii=False)}\n\n"
                last_queue = status
            # While waiting, positions and estimates move without a message of this
            # conversation: wake on any queue change, and look again sooner.
            waiting = status["state"] == "waiting"
            timeout = QUEUE_RECHECK_SECONDS if waiting else KEEPALIVE_SECONDS
            waiters = [asyncio.ensure_future(event.wait())]
            if waiting:
                waiters.append(asyncio.ensure_future(queue_event.wait()))
            done, pending = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for waiter in pending:
                waiter.cancel()
            if not done:
                yield ": keep-alive\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})
