#!/usr/bin/env bash
# Install whatever is missing: Debian packages, the main venv (Python 3.11), the Rasa
# venv (Python 3.10), the database schema and the bundled catalogue. Re-running it
# when nothing changed takes a few seconds: each step is skipped when its inputs'
# hash matches the stamp it left last time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${OPASTIN_VENV:-$ROOT/.venv}
RASA_VENV=${OPASTIN_RASA_VENV:-$ROOT/.venv-rasa}
STAMPS=$ROOT/var/stamps
mkdir -p "$STAMPS"

phase_start=$(date +%s)
phase() { local now; now=$(date +%s); echo "[setup] $1 ($((now - phase_start)) s)"; phase_start=$now; }

# stamp_ok NAME FILE... : true when FILEs hash to the value stored under NAME.
stamp_ok() { local name=$1; shift; [ -f "$STAMPS/$name" ] && [ "$(cat "$@" | sha256sum)" = "$(cat "$STAMPS/$name")" ]; }
stamp_set() { local name=$1; shift; cat "$@" | sha256sum > "$STAMPS/$name"; }

# pip, without this machine's notes about absent local index folders.
quiet_pip() { local pip=$1; shift; "$pip" install -q --disable-pip-version-check "$@" 2>&1 | { grep -v "^WARNING: Location .* is ignored" || true; }; return "${PIPESTATUS[0]}"; }

find_python() {  # find_python 3.10 -> path of an interpreter of that version, or nothing
    local want=$1 candidate
    for candidate in "python$want" "$(pyenv root 2>/dev/null)/versions/$want"*/bin/python"$want" /usr/bin/python"$want"; do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys' >/dev/null 2>&1; then
            command -v "$candidate"; return 0
        fi
    done
    return 1
}

# Debian packages (root or sudo needed only when one is missing).
APT_PACKAGES=$( (grep -v "^#" requirements/apt.txt || true) | xargs)
if [ -n "$APT_PACKAGES" ] && ! dpkg -s $APT_PACKAGES >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $APT_PACKAGES
    phase "Debian packages"
fi

# Main environment, Python 3.11.
if ! stamp_ok main-venv requirements/main.lock pyproject.toml || [ ! -x "$VENV/bin/opastin" ]; then
    PY311=$(find_python 3.11) || { echo "Python 3.11 is needed: install it (Debian: apt-get install python3.11 python3.11-venv; or pyenv install 3.11)" >&2; exit 1; }
    [ -x "$VENV/bin/python" ] || "$PY311" -m venv "$VENV"
    quiet_pip "$VENV/bin/pip" -r requirements/main.lock
    quiet_pip "$VENV/bin/pip" --no-deps -e .
    stamp_set main-venv requirements/main.lock pyproject.toml
    phase "main venv (Python 3.11)"
fi

# Rasa environment, Python 3.10 (Rasa Open Source 3.6.21 declares Python < 3.11).
if ! stamp_ok rasa-venv requirements/rasa.lock || [ ! -x "$RASA_VENV/bin/rasa" ]; then
    if PY310=$(find_python 3.10); then
        [ -x "$RASA_VENV/bin/python" ] || "$PY310" -m venv "$RASA_VENV"
        quiet_pip "$RASA_VENV/bin/pip" -r requirements/rasa.lock
    elif [ "${OPASTIN_RASA_ON_PY311:-}" = 1 ]; then
        echo "[setup] no Python 3.10: installing Rasa on Python 3.11 (unsupported fallback, OPASTIN_RASA_ON_PY311=1)"
        [ -x "$RASA_VENV/bin/python" ] || "$(find_python 3.11)" -m venv "$RASA_VENV"
        quiet_pip "$RASA_VENV/bin/pip" --no-deps --ignore-requires-python rasa==3.6.21 rasa-sdk==3.6.2
        quiet_pip "$RASA_VENV/bin/pip" -r requirements/rasa-py311-fallback.txt
    else
        echo "Rasa Open Source 3.6.21 needs Python 3.10, which was not found on PATH or in pyenv." >&2
        echo "Install it: 'pyenv install 3.10.13' (or Debian/Ubuntu: apt-get install python3.10 python3.10-venv)," >&2
        echo "or re-run with OPASTIN_RASA_ON_PY311=1 to use the unsupported Python 3.11 fallback." >&2
        exit 1
    fi
    stamp_set rasa-venv requirements/rasa.lock
    phase "Rasa venv (rasa 3.6.21)"
fi

# Database schema and the bundled catalogue (idempotent; fast when nothing changed).
"$VENV/bin/opastin" kb import >/dev/null
phase "database migrated, catalogue imported"

# The Rasa model: trained only when data, config, the custom component or the
# embedding model's version changed.
"$VENV/bin/opastin" rasa train
phase "Rasa model"
