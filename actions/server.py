"""Run the action server on loopback, in one process, with the knowledge base loaded
before the first request: `python -m actions.server [--port 5055]`."""

from __future__ import annotations

import argparse

from rasa_sdk.endpoint import create_app

from actions.kb import get_kb
from actions.tagging import TaggingExecutor
from knowledge_base.language import SUPPORTED_LANGUAGES
from knowledge_base.logging_setup import configure_logging

HOST = "127.0.0.1"


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
    # One process: the knowledge base is loaded here, and Sanic's worker manager would
    # spawn fresh processes without it.
    app.run(host=HOST, port=args.port, single_process=True, access_log=False)


if __name__ == "__main__":
    main()
