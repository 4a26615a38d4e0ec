"""Run the action server on loopback, in one process, with the knowledge base loaded
before the first request: `python -m actions.server [--port 5055]`.

rasa-sdk has no authentication of its own: every route but /health wants the token
Rasa sends in the X-Opastin-Action-Token header (bot/endpoints.yml), so another local
process cannot run actions (and read the knowledge base) by posting to /webhook."""

from __future__ import annotations

import argparse
import hmac
import logging

from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.kb import get_kb
from actions.tagging import TaggingExecutor
from knowledge_base.language import SUPPORTED_LANGUAGES
from knowledge_base.logging_setup import configure_logging
from knowledge_base.rasa_project import ACTION_TOKEN_HEADER, action_server_token

HOST = "127.0.0.1"
OPEN_PATHS = frozenset({"/health"})
logger = logging.getLogger(__name__)


def require_token(app: Sanic, token: str) -> None:
    """Refuse (401) every request but OPEN_PATHS without the right token."""
    expected = token.encode()

    async def check(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        sent = request.headers.get(ACTION_TOKEN_HEADER, "").encode()
        if sent and hmac.compare_digest(sent, expected):
            return None
        logger.warning("refused %s %s: missing or wrong action server token", request.method, request.path)
        return response.json({"error": "missing or wrong action server token"}, status=401)

    app.register_middleware(check, "request")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=5055)
    args = parser.parse_args()
    configure_logging()
    kb = get_kb()
    kb.search.warm_up(SUPPORTED_LANGUAGES)
    kb.watcher.start()
    executor = TaggingExecutor()
    executor.register_package("actions")
    app = create_app(executor, cors_origins=None)
    require_token(app, action_server_token(kb.settings))
    # One process: the knowledge base is loaded here, and Sanic's worker manager would
    # spawn fresh processes without it.
    app.run(host=HOST, port=args.port, single_process=True, access_log=False)


if __name__ == "__main__":
    main()
