"""Charts of the outcome figures as PNG (matplotlib's Agg renderer; no pyplot, so no
global figure state and safe in a thread pool).

Counts under 5 keep their anonymity here too: such a bar is drawn at a fixed height,
hatched, and labelled "<5", so neither its label nor its height tells the number.
Every text comes through `label` (the staff catalogue), never from this module.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from knowledge_base.outcome_rules import OUTCOMES
from knowledge_base.outcomes import MIN_COUNT, Figures, shown

Label = Callable[[str], str]
CHARTS: tuple[str, ...] = ("outcomes_over_time", "wait_distribution", "languages")
SMALL_HEIGHT = MIN_COUNT / 2  # where a suppressed bar is drawn
HATCH = "///"
# Minutes: upper bounds of the wait-time bins; the last bin is open.
WAIT_BINS: tuple[float, ...] = (1, 2, 5, 10, 20, 30)
COLOURS = {
    "answered": "#2a7ab0",
    "recommended_and_opened": "#3d9970",
    "referred_by_counsellor": "#8e6cc0",
    "offline_message": "#d98b2b",
    "abandoned": "#b84a4a",
    "in_progress": "#9a9a9a",
}


@dataclass(frozen=True)
class Bar:
    height: float
    label: str
    suppressed: bool


def bar(count: int) -> Bar:
    if count <= 0:
        return Bar(0.0, "", False)
    if count < MIN_COUNT:
        return Bar(SMALL_HEIGHT, shown(count), True)
    return Bar(float(count), shown(count), False)


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return buffer.getvalue()


def _new(label: Label, title_key: str, width: float = 8.0) -> tuple[Figure, object]:
    figure = Figure(figsize=(width, 4.0), layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(label(title_key), pad=14)
    axes.spines[["top", "right"]].set_visible(False)
    axes.margins(y=0.12)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    return figure, axes


def _empty(axes, label: Label) -> None:  # type: ignore[no-untyped-def]
    axes.set_xticks([])
    axes.set_yticks([])
    axes.text(0.5, 0.5, label("outcomes.no_data"), ha="center", va="center", transform=axes.transAxes)


def _bars(axes, names: Sequence[str], counts: Sequence[int], colour: str, horizontal: bool = False) -> None:  # type: ignore[no-untyped-def]
    bars = [bar(c) for c in counts]
    positions = list(range(len(names)))
    draw = axes.barh if horizontal else axes.bar
    patches = draw(positions, [b.height for b in bars], color=colour)
    for patch, item in zip(patches, bars, strict=True):
        if item.suppressed:
            patch.set_hatch(HATCH)
            patch.set_alpha(0.5)
    axes.bar_label(patches, labels=[b.label for b in bars], padding=2)
    (axes.set_yticks if horizontal else axes.set_xticks)(positions, list(names))


def outcomes_over_time(figures: Figures, label: Label) -> bytes:
    figure, axes = _new(label, "outcomes.chart.outcomes_over_time", width=9.0)
    days = list(figures.daily)
    positions = list(range(len(days)))
    bottoms = [0.0] * len(days)
    legend: list[Patch] = []
    for outcome in OUTCOMES:
        bars = [bar(figures.daily[day][outcome]) for day in days]
        if not any(b.height for b in bars):
            continue
        patches = axes.bar(positions, [b.height for b in bars], bottom=bottoms, color=COLOURS[outcome])
        legend.append(Patch(color=COLOURS[outcome], label=label(f"outcomes.outcome.{outcome}")))
        for patch, item in zip(patches, bars, strict=True):
            if item.suppressed:
                patch.set_hatch(HATCH)
        bottoms = [low + b.height for low, b in zip(bottoms, bars, strict=True)]
    totals = [shown(sum(figures.daily[day].values())) for day in days]
    for position, top, total in zip(positions, bottoms, totals, strict=True):
        axes.annotate(total, (position, top), ha="center", va="bottom", fontsize=8)
    axes.set_xticks(positions, [day.strftime("%d.%m.") for day in days], rotation=45 if len(days) > 10 else 0)
    axes.set_ylabel(label("outcomes.chart.conversations"))
    if days:
        axes.legend(
            handles=legend,
            fontsize=8,
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
            title=label("outcomes.chart.hatched_small"),
            title_fontsize=7,
        )
    else:
        _empty(axes, label)
    return _png(figure)


def wait_bins(waits: Sequence[float]) -> list[int]:
    counts = [0] * (len(WAIT_BINS) + 1)
    for seconds in waits:
        minutes = seconds / 60
        index = next((i for i, bound in enumerate(WAIT_BINS) if minutes < bound), len(WAIT_BINS))
        counts[index] += 1
    return counts


def wait_bin_names() -> list[str]:
    lows = (0, *WAIT_BINS)
    return [f"{low:g}–{high:g}" for low, high in zip(lows, WAIT_BINS, strict=False)] + [f"{WAIT_BINS[-1]:g}+"]


def wait_distribution(figures: Figures, label: Label) -> bytes:
    figure, axes = _new(label, "outcomes.chart.wait_distribution")
    if figures.waits:
        _bars(axes, wait_bin_names(), wait_bins(figures.waits), "#8e6cc0")
    else:
        _empty(axes, label)
    axes.set_xlabel(label("outcomes.chart.minutes"))
    axes.set_ylabel(label("outcomes.chart.tickets"))
    return _png(figure)


def languages(figures: Figures, label: Label) -> bytes:
    figure, axes = _new(label, "outcomes.chart.languages")
    rows = figures.tables["languages"].rows
    if rows:
        _bars(axes, [str(r[0]) for r in rows], [int(r[1]) for r in rows], "#2a7ab0", horizontal=True)
        axes.invert_yaxis()
    else:
        _empty(axes, label)
    axes.set_xlabel(label("outcomes.chart.conversations"))
    return _png(figure)


RENDERERS: dict[str, Callable[[Figures, Label], bytes]] = {
    "outcomes_over_time": outcomes_over_time,
    "wait_distribution": wait_distribution,
    "languages": languages,
}


def render(name: str, figures: Figures, label: Label) -> bytes:
    return RENDERERS[name](figures, label)
