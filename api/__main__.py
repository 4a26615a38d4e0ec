"""Serve the API: `python -m api` (what the supervisor starts). Logging goes through
knowledge_base.logging_setup (redacted), uvicorn's own loggers included."""

from __future__ import annotations

import uvicorn

from knowledge_base.logging_setup import configure_logging
from knowledge_base.settings import get_settings


def main() -> None:
    configure_logging()
    settings = get_settings()
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        # Open event streams (widget, console) must not hold a restart up.
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
