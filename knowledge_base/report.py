"""`opastin report`: the dashboard's figures as text, and its charts as files. Labels
come from the staff catalogue (knowledge_base/messages/console/) in the chosen language."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from knowledge_base import charts
from knowledge_base.i18n import MESSAGES_DIR, Catalogue
from knowledge_base.outcomes import Figures, Table

TABLE_ORDER: tuple[str, ...] = (
    "outcomes",
    "answer_sources",
    "handover_steps",
    "feedback",
    "languages",
    "channels",
    "intents",
    "topics",
    "outcome_codes",
    "age_bands",
    "municipalities",
    "unanswered_questions",
    "services_most_recommended",
    "services_least_recommended",
    "services_most_opened",
    "services_least_opened",
    "stale_content",
)
VALUE_PREFIXES = {
    "outcomes": "outcomes.outcome.",
    "answer_sources": "outcomes.source.",
    "handover_steps": "outcomes.step.",
    "feedback": "outcomes.rating.",
    "age_bands": "outcomes.age_band.",
}


class Labeller(Protocol):
    def __call__(self, key: str, **params: object) -> str: ...


def labeller(language: str) -> Labeller:
    """Staff-catalogue text; a key the catalogue lacks shows as its last part (a code)."""
    catalogue = Catalogue.load(MESSAGES_DIR / "console")

    def label(key: str, **params: object) -> str:
        if catalogue.template(key, language) is None:
            return key.rsplit(".", 1)[-1]
        return catalogue.text(key, language, **params)

    return label


def _table_lines(table: Table, label: Callable[[str], str]) -> list[str]:
    header = [label(f"outcomes.col.{column}") for column in table.columns]
    prefix = VALUE_PREFIXES.get(table.name)
    rows = [[label(prefix + row[0]) if prefix else row[0], *row[1:]] for row in table.masked()]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    lines = [
        label(f"outcomes.table.{table.name}"),
        "  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=False)),
    ]
    lines += ["  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)) for row in rows]
    return lines


def text_report(figures: Figures, label: Labeller) -> str:
    filters = figures.filters
    lines = [label("outcomes.title"), _period(label, filters.start.isoformat(), filters.end.isoformat()), ""]
    for name, value in figures.summary().rows:
        lines.append(f"{label(f'outcomes.figure.{name}')}: {value}")
    for name in TABLE_ORDER:
        table = figures.tables[name]
        lines.append("")
        lines += (
            _table_lines(table, label)
            if table.rows
            else [label(f"outcomes.table.{name}"), "  " + label("outcomes.no_data")]
        )
    return "\n".join(lines) + "\n"


def _period(label: Labeller, start: str, end: str) -> str:
    return label("outcomes.report.period", start=start, end=end)


def write_charts(figures: Figures, label: Callable[[str], str], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in charts.CHARTS:
        path = directory / f"{name}.png"
        path.write_bytes(charts.render(name, figures, label))
        written.append(path)
    return written
