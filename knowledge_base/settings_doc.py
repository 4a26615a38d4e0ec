"""The table of environment variables in deploy/README.md, made from the `Settings`
fields and their descriptions, so the documentation cannot drift from the code:

    python -m knowledge_base.settings_doc --check deploy/README.md   # exit 1 when stale
    python -m knowledge_base.settings_doc --write deploy/README.md   # rewrite the table

The table sits between the START and END markers; tests/test_deploy_docs.py runs the check."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from knowledge_base.settings import REPO_DIR, Settings

START = "<!-- settings-table:start (python -m knowledge_base.settings_doc --write deploy/README.md) -->"
END = "<!-- settings-table:end -->"
# Read straight from the environment before settings exist (logging is configured first).
PROCESS_VARIABLES = {
    "OPASTIN_LOG_FORMAT": ("text", "`json` writes one JSON object per log line (every entry point)."),
}


def env_name(field_name: str) -> str:
    alias = Settings.model_fields[field_name].validation_alias
    return alias if isinstance(alias, str) else f"OPASTIN_{field_name.upper()}"


def env_names() -> set[str]:
    """Every variable the product reads: the settings and the process-level ones."""
    return {env_name(name) for name in Settings.model_fields} | set(PROCESS_VARIABLES)


def _default(value: Any) -> str:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, Path):
        # Paths inside the checkout are shown relative to it, not as this machine's path.
        return value.relative_to(REPO_DIR).as_posix() if value.is_relative_to(REPO_DIR) else value.as_posix()
    if isinstance(value, list):
        return json.dumps(value)
    if value is None or value == "":
        return "(empty)"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def settings_table() -> str:
    lines = ["| variable | default | what |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = _default(field.get_default(call_default_factory=True))
        lines.append(f"| `{env_name(name)}` | `{_cell(default)}` | {_cell(field.description or '')} |")
    for name, (default, description) in PROCESS_VARIABLES.items():
        lines.append(f"| `{name}` | `{default}` | {_cell(description)} |")
    return "\n".join(lines)


def render_into(text: str) -> str:
    """`text` with the table between the markers replaced by the current one."""
    if START not in text or END not in text:
        raise ValueError("the settings table markers are missing")
    before, rest = text.split(START, 1)
    _old, after = rest.split(END, 1)
    return f"{before}{START}\n{settings_table()}\n{END}{after}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--check", type=Path, metavar="FILE")
    action.add_argument("--write", type=Path, metavar="FILE")
    args = parser.parse_args()
    path: Path = args.check or args.write
    text = path.read_text(encoding="utf-8")
    fresh = render_into(text)
    if args.write:
        path.write_text(fresh, encoding="utf-8")
        return 0
    if fresh != text:
        print(f"{path}: the settings table is stale; run python -m knowledge_base.settings_doc --write {path}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
