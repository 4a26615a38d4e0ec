"""Secrets every process started over the same state_dir agrees on without passing them around."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path


def kept_secret(configured: str, path: Path) -> str:
    """A configured secret, else one made once and kept in `path` (mode 0600). Made in a
    file of its own and linked into place, so that of several workers starting at once
    exactly one makes it and none reads a half-written file."""
    if configured:
        return configured
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(secrets.token_urlsafe(32))
            os.link(draft, path)
        except FileExistsError:
            pass  # another process made it first: everyone uses that one
        finally:
            os.unlink(draft)
    return path.read_text(encoding="utf-8").strip()
