#!/usr/bin/env bash
# Install what is missing, then run the whole product: Rasa, the action server and the
# API on http://127.0.0.1:8000 (chat, search, about, health) with the bundled catalogue
# in an embedded SQLite database. Set DATABASE_URL for PostgreSQL. A crashed service is
# restarted; Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m api.supervisor
