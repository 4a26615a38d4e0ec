#!/usr/bin/env bash
# Install what is missing, then run the product: the API (search, about, health)
# on 127.0.0.1:8000 with the bundled catalogue in an embedded SQLite database.
# Set DATABASE_URL for PostgreSQL. Stop with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/uvicorn --factory api.main:create_app \
    --host "${OPASTIN_API_HOST:-127.0.0.1}" --port "${OPASTIN_API_PORT:-8000}"
