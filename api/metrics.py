"""Prometheus metrics of one API process (`GET /metrics`). The registry belongs to the
app (built in create_app), so tests and several apps in one process never share it."""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from api.security import ASGIApp, Message, Receive, Scope, Send


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "opastin_http_requests", "HTTP requests by route and status", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "opastin_http_request_seconds",
            "Time to the response headers, by route",
            ["route"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10),
            registry=self.registry,
        )
        self.chat_turns = Counter("opastin_chat_turns", "Inbound chat messages by channel", ["channel"], registry=self.registry)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                self.metrics.latency.labels(_route(scope)).observe(time.perf_counter() - began)
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            self.metrics.requests.labels(scope["method"], _route(scope), str(status)).inc()


def _route(scope: MutableMapping[str, Any]) -> str:
    # The route's template ("/api/chat/{conversation_id}/messages"), never the raw path:
    # raw paths carry ids and would make one series per conversation.
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    client = request.client.host if request.client else ""
    if client not in request.app.state.settings.metrics_clients:
        return Response(status_code=404)
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
