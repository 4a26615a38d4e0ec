"""Telegram's webhook: updates are accepted only with the secret token registered by setWebhook."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request

from api.deps import SettingsDep

router = APIRouter(prefix="/api/telegram", tags=["telegram"])
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@router.post("/webhook")
async def webhook(
    request: Request,
    settings: SettingsDep,
    secret: Annotated[str | None, Header(alias=SECRET_HEADER)] = None,
) -> dict[str, Any]:
    channel = getattr(request.app.state, "telegram", None)
    if channel is None or settings.telegram_mode != "webhook":
        raise HTTPException(status_code=404, detail="the Telegram webhook is not enabled")
    expected = settings.telegram_webhook_secret
    if not expected or not secret or not hmac.compare_digest(secret.encode(), expected.encode()):
        raise HTTPException(status_code=403, detail="wrong secret token")
    data = await request.json()
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise HTTPException(status_code=400, detail="not a Telegram update")
    await channel.put(data)
    return {}
