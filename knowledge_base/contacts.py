"""How to reach a service, read from its catalogue channels. Nothing is invented:
a national description has no channels, so its Contact is empty."""

from __future__ import annotations

from typing import Any

from knowledge_base.contracts import Contact, ServiceRecord


def _first(channels: tuple[dict[str, Any], ...], kind: str, field: str) -> Any:
    for channel in channels:
        if channel.get("type") == kind and channel.get(field):
            return channel[field]
    return None


def _address(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        parts = [value.get(key) for key in ("street", "street_address", "postal_code", "post_office", "city")]
        text = " ".join(str(part) for part in parts if part)
        return text or None
    return None


def contact_for(service: ServiceRecord, language: str) -> Contact:
    channels = service.channels
    phone_channel = next((c for c in channels if c.get("type") == "TELEPHONE" and c.get("phone")), None)
    location = next((c for c in channels if c.get("type") == "LOCAL" and c.get("address")), None)
    hours = (location or phone_channel or {}).get("availability")
    url = None
    for link in service.links.get(language, []) or next(iter(service.links.values()), []):
        if link.get("url"):
            url = link["url"]
            break
    url = url or _first(channels, "WEBPAGE", "urls") or _first(channels, "ESERVICE", "urls")
    if isinstance(url, list):
        url = url[0] if url else None
    return Contact(
        phone=phone_channel["phone"] if phone_channel else None,
        email=_first(channels, "EMAIL", "email"),
        address=_address(location["address"]) if location else None,
        hours=hours,
        url=url,
    )
