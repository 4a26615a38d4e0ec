"""Run the action server on loopback, in one process, with the knowledge base loaded
before the first request: `python -m actions.server [--port 5055]`."""

from __future__ import annotations

import argparse
import logging

from rasa_sdk.endpoint import create_app

from actions.kb import get_kb
from actions.tagging import TaggingExecutor

HOST = "127.0.0.1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=5055)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    kb = get_kb()
    kb.search.warm_up()
    executor = TaggingExecutor()
    executor.register_package("actions")
    app = create_app(executor, cors_origins=None)
    # One process: the knowledge base is loaded here, and Sanic's worker manager would
    # spawn fresh processes without it.
    app.run(host=HOST, port=args.port, single_process=True, access_log=False)


if __name__ == "__main__":
    main()
