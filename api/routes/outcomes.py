"""The guidance-outcome dashboard: a page, its charts as PNG, and a CSV of every table.

Visible to supervisors, organisation admins, editors, approvers and platform admins;
anyone else signed in gets 403. Handover figures are limited to the organisations where
the viewer holds one of those roles (all for a platform admin).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from api.auth import StaffPageDep, require_role
from api.deps import SessionDep
from api.outcome_cache import FiguresCache
from api.pages import console_messages, render, ui_language
from knowledge_base import charts
from knowledge_base.models import Organisation
from knowledge_base.outcome_rules import HELSINKI
from knowledge_base.outcomes import Figures, Filters, Table, figures

DASHBOARD_ROLES: tuple[str, ...] = ("supervisor", "org_admin", "editor", "approver")
DEFAULT_DAYS = 30
MAX_DAYS = 366
CSV_TYPE = "text/csv; charset=utf-8"
FORMULA_STARTS = frozenset("=+-@\t\r")

router = APIRouter(prefix="/console/outcomes", tags=["outcomes"], include_in_schema=False)

FromDate = Annotated[date | None, Query(alias="from")]
ToDate = Annotated[date | None, Query(alias="to")]
Code = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_:-]*$")]


def _filters(
    principal: StaffPageDep,
    start: FromDate = None,
    end: ToDate = None,
    language: Code = None,
    channel: Code = None,
    organisation: Code = None,
) -> Filters:
    """The dashboard's filters from the query string, checked against the viewer's roles."""
    require_role(principal, *DASHBOARD_ROLES)
    scope = None if principal.is_platform_admin else principal.organisations(*DASHBOARD_ROLES)
    if organisation and scope is not None and organisation not in scope:
        raise HTTPException(status_code=403, detail="not your organisation")
    today = datetime.now(HELSINKI).date()
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end or (end - start).days >= MAX_DAYS:
        raise HTTPException(status_code=422, detail=f"'from' must be on or before 'to', at most {MAX_DAYS} days")
    return Filters(start, end, language or None, channel or None, organisation or None, scope)


FiltersDep = Annotated[Filters, Depends(_filters)]


def _figures(request: Request, session: SessionDep, filters: Filters) -> Figures:
    cache = getattr(request.app.state, "outcome_figures", None)
    if cache is None:  # made on first use, so the app factory needs no line for it
        cache = request.app.state.outcome_figures = FiguresCache()
    return cache.get(filters, lambda: figures(session, filters, now=datetime.now(UTC)))


def all_tables(result: Figures) -> dict[str, Table]:
    return {"summary": result.summary(), "daily": daily_table(result), **result.tables}


def daily_table(result: Figures) -> Table:
    outcomes = list(result.outcomes)
    table = Table("daily", ["day", *outcomes], counts=tuple(range(1, len(outcomes) + 1)))
    table.rows = [[day.isoformat(), *(counts[o] for o in outcomes)] for day, counts in result.daily.items()]
    return table


def _query_string(filters: Filters) -> str:
    parts = {
        "from": filters.start.isoformat(),
        "to": filters.end.isoformat(),
        "language": filters.language,
        "channel": filters.channel,
        "organisation": filters.organisation_id,
    }
    return "&".join(f"{key}={value}" for key, value in parts.items() if value)


@router.get("", response_class=HTMLResponse)
def dashboard(
    request: Request,
    principal: StaffPageDep,
    session: SessionDep,
    filters: FiltersDep,
) -> Response:
    result = _figures(request, session, filters)
    query = select(Organisation.id, Organisation.name).order_by(Organisation.name)
    organisations = [
        (oid, name) for oid, name in session.execute(query) if filters.scope is None or oid in filters.scope
    ]
    catalogue, language_code = console_messages(), ui_language(request, principal)

    def label(prefix: str, value: object) -> str:
        key = f"{prefix}{value}"
        return catalogue.text(key, language_code) if catalogue.template(key, language_code) is not None else str(value)

    return render(
        request,
        "outcomes.html",
        principal=principal,
        figures=result,
        tables=all_tables(result),
        filters=filters,
        query=_query_string(filters),
        organisations=organisations,
        charts=charts.CHARTS,
        label=label,
    )


@router.get("/charts/{name}.png")
def chart(
    request: Request,
    name: str,
    principal: StaffPageDep,
    session: SessionDep,
    filters: FiltersDep,
) -> Response:
    if name not in charts.CHARTS:
        raise HTTPException(status_code=404, detail="no such chart")
    catalogue, language_code = console_messages(), ui_language(request, principal)
    png = charts.render(name, _figures(request, session, filters), lambda key: catalogue.text(key, language_code))
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, no-store"})


def _inert(cell: str) -> str:
    # A spreadsheet runs a cell starting with = + - @ as a formula: users' questions must not.
    return "'" + cell if cell[:1] in FORMULA_STARTS else cell


def csv_text(table: Table) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.columns)
    writer.writerows([[_inert(cell) for cell in row] for row in table.masked()])
    return buffer.getvalue()


@router.get("/{name}.csv")
def export(request: Request, name: str, session: SessionDep, filters: FiltersDep) -> Response:
    """One table as CSV (FiltersDep signs the viewer in and checks their roles)."""
    tables = all_tables(_figures(request, session, filters))
    if name not in tables:
        raise HTTPException(status_code=404, detail="no such table")
    filename = f"opastin-{name}-{filters.start.isoformat()}-{filters.end.isoformat()}.csv"
    return Response(
        csv_text(tables[name]),
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-store"},
    )
