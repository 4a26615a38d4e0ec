"""Guidance outcomes: the figures of a known set of conversations (tests/outcome_seed.py)
equal the hand-computed values; small counts never leave as numbers; no personal data
in any figure, export or chart; the click-through route; the dashboard's route x role
matrix; `opastin report`. Real database, real application, no mocks."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from actions.tagging import TaggingExecutor
from api.chat import message_view
from api.main import create_app
from api.rendering import render_reply
from api.routes.outcomes import csv_text
from knowledge_base import accounts, charts, clicks
from knowledge_base.cli import main as cli
from knowledge_base.db import make_engine, make_sessionmaker, migrate
from knowledge_base.i18n import Catalogue
from knowledge_base.models import Conversation, Message, Organisation, Service, ServiceClick
from knowledge_base.organisations import seed_organisations
from knowledge_base.outcome_rules import (
    ABANDONED,
    ANSWERED,
    IN_PROGRESS,
    OPENED,
    REFERRED,
    HandoverRow,
    MessageRow,
    classify,
)
from knowledge_base.outcomes import Filters, Table, feedback_counts, figures, shown, utc_bounds
from knowledge_base.report import labeller, text_report
from knowledge_base.settings import Settings
from tests.outcome_seed import END, EXPECTED, NOW, PII_FRAGMENTS, START, mark_outdated, seed

PASSWORD = "correct horse battery staple"
ROLES = {
    "counsellor": [("helsinki", "counsellor")],
    "supervisor": [("helsinki", "supervisor")],
    "org_admin": [("helsinki", "org_admin")],
    "editor": [("helsinki", "editor")],
    "approver": [("helsinki", "approver")],
    "platform_admin": [(None, "platform_admin")],
}
PERIOD = {"from": START.isoformat(), "to": END.isoformat()}


def _linked_services(sessions: sessionmaker[Session], count: int) -> list[Service]:
    with sessions() as session:
        found = [
            s
            for s in session.scalars(select(Service).order_by(Service.id).limit(400))
            if list(clicks.catalogue_urls(s))
        ]
        return found[:count]


@pytest.fixture(scope="module")
def seeded(sessions: sessionmaker[Session]) -> Iterator[list[str]]:
    """The seed in the shared test database; S3 is marked outdated while this module runs."""
    ids = [s.id for s in _linked_services(sessions, 3)]
    seed(sessions, ids)
    before = mark_outdated(sessions, ids[2], "outdated")
    yield ids
    mark_outdated(sessions, ids[2], before)


def _figures(sessions: sessionmaker[Session], scope: frozenset[str] | None = None, **filters: str) -> object:
    with sessions() as session:
        return figures(session, Filters(START, END, scope=scope, **filters), now=NOW)  # type: ignore[arg-type]


# -- the rules, pure ----------------------------------------------------------------


def _msg(seq: int, author: str, at: datetime, **payload: object) -> MessageRow:
    return MessageRow(seq, author, at, dict(payload), reply_to=1 if author == "bot" else None, id=seq)


def test_outcome_rules_precedence_and_idle_boundary() -> None:
    t0 = datetime(2026, 3, 2, 8, tzinfo=UTC)
    user = _msg(1, "user", t0)
    answered = _msg(2, "bot", t0, key="bot.recommend_intro", services=[{"id": "s1"}])

    def outcome(
        messages: list[MessageRow],
        handovers: tuple[HandoverRow, ...] = (),
        opened: tuple[str, ...] = (),
        minutes: float = 60,
    ) -> str:
        return classify(
            conversation_id="c",
            channel="web",
            language="fi",
            created_at=t0,
            messages=messages,
            handovers=handovers,
            opened=opened,
            now=t0 + timedelta(minutes=minutes),
        ).outcome

    assert outcome([user, answered]) == ANSWERED
    assert outcome([user, answered], opened=("s1",)) == OPENED
    taken = HandoverRow("requested", "closed", t0, assigned_at=t0 + timedelta(minutes=3))
    assert outcome([user, answered], (taken,), ("s1",)) == REFERRED
    handed_back = HandoverRow(
        "requested", "closed", t0, assigned_at=t0 + timedelta(minutes=3), outcome_code="returned_to_bot"
    )
    assert outcome([user, answered], (handed_back,)) == ANSWERED
    assert outcome([user], minutes=29.9) == IN_PROGRESS
    assert outcome([user], minutes=30) == ABANDONED
    waiting = HandoverRow("requested", "waiting", t0)
    assert outcome([user, answered], (waiting,), minutes=10) == IN_PROGRESS
    assert outcome([user, answered], (waiting,), minutes=31) == ABANDONED
    faq = _msg(2, "bot", t0, action="action_answer_info")
    assert (
        classify(
            conversation_id="c",
            channel="web",
            language="fi",
            created_at=t0,
            messages=[user, faq],
            handovers=[],
            opened=[],
            now=t0,
        ).answered_from
        == "faq"
    )


def test_finnish_days_bound_the_period() -> None:
    low, high = utc_bounds(date(2026, 3, 2), date(2026, 3, 8))
    assert low == datetime(2026, 3, 1, 22, tzinfo=UTC)  # EET, UTC+2
    assert high == datetime(2026, 3, 8, 22, tzinfo=UTC)
    summer_low, _ = utc_bounds(date(2026, 7, 1), date(2026, 7, 1))
    assert summer_low == datetime(2026, 6, 30, 21, tzinfo=UTC)  # EEST, UTC+3


def test_counts_under_five_are_never_numbers() -> None:
    assert [shown(n) for n in (0, 1, 4, 5, 17)] == ["<5", "<5", "<5", "5", "17"]
    table = Table("t", ["thing", "count"], [["a", 4], ["b", 5], ["c", 0]])
    assert table.masked() == [["a", "<5"], ["b", "5"], ["c", "<5"]]
    assert csv_text(table) == "thing,count\na,<5\nb,5\nc,<5\n"
    formula = Table("q", ["question", "count"], [['=HYPERLINK("https://evil.example")', 7], ["@SUM(A1)", 5]])
    assert csv_text(formula).splitlines()[1:] == ['"\'=HYPERLINK(""https://evil.example"")",7', "'@SUM(A1),5"]
    assert [charts.bar(n).label for n in (0, 3, 6)] == ["", "<5", "6"]
    assert charts.bar(1).height == charts.bar(4).height == 2.5  # the height does not tell the number either


# -- figures from the seeded database -------------------------------------------------


def test_figures_equal_hand_computed_values(sessions: sessionmaker[Session], seeded: list[str]) -> None:
    result = _figures(sessions)
    assert result.conversations == EXPECTED["conversations"]  # type: ignore[attr-defined]
    assert result.outcomes == EXPECTED["outcomes"]  # type: ignore[attr-defined]
    assert result.self_service_rate == pytest.approx(EXPECTED["self_service_rate"])  # type: ignore[attr-defined]
    assert result.escalation_rate == pytest.approx(EXPECTED["escalation_rate"])  # type: ignore[attr-defined]
    everyone = EXPECTED["all"]
    assert result.handovers_taken == everyone["waits"]  # type: ignore[attr-defined]
    assert result.median_wait_seconds == pytest.approx(everyone["median"])  # type: ignore[attr-defined]
    assert result.p90_wait_seconds == pytest.approx(everyone["p90"])  # type: ignore[attr-defined]
    assert result.csat == pytest.approx(everyone["csat"])  # type: ignore[attr-defined]
    tables = result.tables  # type: ignore[attr-defined]
    assert tables["languages"].rows == EXPECTED["languages"]
    assert tables["channels"].rows == EXPECTED["channels"]
    assert dict(tables["feedback"].rows)["fallbacks"] == EXPECTED["fallbacks"]
    assert tables["unanswered_questions"].rows[0] == EXPECTED["fishing"]
    assert dict(tables["answer_sources"].rows) == {"catalogue": 11, "faq": 0, "none": 13}
    assert dict(tables["handover_steps"].rows) == {"offered": 0, "requested": 11, "taken": 7}
    assert dict(tables["intents"].rows)["describe_situation"] == 11
    assert dict(tables["topics"].rows) == {"work": 7, "studies": 2}
    assert dict(tables["outcome_codes"].rows) == {"referred": 7}
    assert dict(tables["age_bands"].rows) == {"18_24": 7, "25_29": 1}
    assert dict(tables["municipalities"].rows) == {"091": 7, "049": 1}
    s1, s2, s3 = seeded
    assert [row[0] for row in tables["services_most_recommended"].rows] == [s1, s2, s3]
    assert [row[2:] for row in tables["services_most_recommended"].rows] == [[11, 5], [6, 0], [5, 0]]
    assert tables["services_most_opened"].rows[0][0] == s1 and tables["services_most_opened"].rows[0][3] == 5
    assert [row[0] for row in tables["services_least_opened"].rows] == [s2, s3, s1]
    assert [row[0] for row in tables["stale_content"].rows] == [s3]
    day = result.daily[date(2026, 3, 4)]  # type: ignore[attr-defined]
    assert day["referred_by_counsellor"] == 7 and day["answered"] == 2
    assert sum(sum(d.values()) for d in result.daily.values()) == 24  # type: ignore[attr-defined]


def test_handover_figures_are_limited_to_the_viewers_organisations(
    sessions: sessionmaker[Session], seeded: list[str]
) -> None:
    result = _figures(sessions, scope=frozenset({"helsinki"}))
    helsinki = EXPECTED["helsinki"]
    assert result.handovers_taken == helsinki["waits"]  # type: ignore[attr-defined]
    assert result.median_wait_seconds == pytest.approx(helsinki["median"])  # type: ignore[attr-defined]
    assert result.p90_wait_seconds == pytest.approx(helsinki["p90"])  # type: ignore[attr-defined]
    assert result.csat == pytest.approx(helsinki["csat"])  # type: ignore[attr-defined]
    assert dict(result.tables["topics"].rows) == {"work": 6}  # type: ignore[attr-defined]
    # Under 5 cases: no median, no CSAT, and the count is "<5".
    small = _figures(sessions, scope=frozenset({"te"}))
    assert small.median_wait_seconds is None and small.csat is None and small.waits == []  # type: ignore[attr-defined]
    assert dict(small.summary().rows)["handovers_taken"] == "<5"  # type: ignore[attr-defined]


def test_filters_language_channel_organisation(sessions: sessionmaker[Session], seeded: list[str]) -> None:
    assert _figures(sessions, language="sv").outcomes["recommended_and_opened"] == 5  # type: ignore[attr-defined]
    assert _figures(sessions, channel="telegram").conversations == 5  # type: ignore[attr-defined]
    assert _figures(sessions, organisation_id="helsinki").conversations == 6  # type: ignore[attr-defined]


def test_no_personal_data_in_any_figure_export_or_report(sessions: sessionmaker[Session], seeded: list[str]) -> None:
    result = _figures(sessions)
    from api.routes.outcomes import all_tables

    exported = "".join(csv_text(table) for table in all_tables(result).values())  # type: ignore[arg-type]
    report = text_report(result, labeller("en"))  # type: ignore[arg-type]
    for fragment in PII_FRAGMENTS:
        assert fragment not in exported and fragment not in report
    assert "[HETU]" in exported and "[PHONE]" in exported and "[EMAIL]" in exported
    assert "[HETU]" in report


def test_thumbs_are_read_only_once_the_ratings_table_exists(postgres_url: str, tmp_path: Path) -> None:
    engine = make_engine(Settings(state_dir=tmp_path, database_url=postgres_url))
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        seed_organisations(session=session, data_dir=Settings(state_dir=tmp_path).data_dir)
        for sid in ("t:s1", "t:s2", "t:s3"):
            session.add(
                Service(
                    id=sid,
                    source="t",
                    source_id=sid,
                    licence="CC-BY-4.0",
                    organisation_id="helsinki",
                    area_type="national",
                    source_hash="x",
                    imported_at=NOW,
                    status="published",
                )
            )
        session.commit()
    seed(sessions, ["t:s1", "t:s2", "t:s3"])
    with sessions() as session:
        ids = list(session.scalars(select(Conversation.id).order_by(Conversation.created_at).limit(2)))
        assert feedback_counts(session, ids) == {}
        # The shape of issue 6's chat_feedback table (IF NOT EXISTS: it may be migrated already).
        session.execute(
            text(
                "CREATE TABLE IF NOT EXISTS chat_feedback (id SERIAL PRIMARY KEY, conversation_id VARCHAR(36) NOT NULL, "
                "message_id INTEGER, kind VARCHAR(12) NOT NULL, score INTEGER NOT NULL, message_key VARCHAR(80), "
                "language VARCHAR(3) NOT NULL, created_at TIMESTAMPTZ NOT NULL)"
            )
        )
        for conversation_id, message_id, score in ((ids[0], 1, 1), (ids[0], 2, -1), (ids[1], 3, -1)):
            session.execute(
                text(
                    "INSERT INTO chat_feedback (conversation_id, message_id, kind, score, language, created_at) VALUES (:c, :m, 'answer', :s, 'fi', :t)"
                ),
                {"c": conversation_id, "m": message_id, "s": score, "t": NOW},
            )
        session.commit()
        assert feedback_counts(session, ids) == {ids[0]: (1, 1), ids[1]: (0, 1)}
        # The same figures on PostgreSQL as on SQLite.
        result = figures(session, Filters(START, END), now=NOW)
    assert result.outcomes == EXPECTED["outcomes"] and result.median_wait_seconds == pytest.approx(
        EXPECTED["all"]["median"]
    )
    assert dict(result.tables["feedback"].rows)["thumbs_down"] == 2
    engine.dispose()


# -- intents reach the stored message ------------------------------------------------------


def test_action_replies_carry_the_intent_and_the_api_keeps_it() -> None:
    executor = TaggingExecutor()
    executor.register_package("actions")
    call = {
        "next_action": "action_fallback",
        "tracker": {
            "sender_id": "x",
            "slots": {"failures": 0, "municipality": "091", "age": 24.0},
            "latest_message": {"intent": {"name": "out_of_scope"}, "text": "?"},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": None,
        },
        "domain": {},
    }
    result = asyncio.run(executor.run(call))
    assert result is not None
    customs = [r["custom"] for r in result.responses]
    assert [c["key"] for c in customs] == ["bot.not_understood", "bot.capabilities"]
    assert all(c["intent"] == "out_of_scope" and c["action"] == "action_fallback" for c in customs)
    assert all(c["municipality"] == "091" and c["age_band"] == "18_24" and "age" not in c for c in customs)
    rendered = render_reply(Catalogue.load(), {"custom": customs[0]}, "fi")
    assert rendered.payload["intent"] == "out_of_scope" and rendered.payload["action"] == "action_fallback"
    assert rendered.payload["age_band"] == "18_24" and rendered.payload["municipality"] == "091"


# -- the application: click-through and dashboard ------------------------------------------------


@pytest.fixture(scope="module")
def client(settings: Settings, sessions: sessionmaker[Session], seeded: list[str]) -> Iterator[TestClient]:
    with sessions() as session:
        for role, roles in ROLES.items():
            if session.scalar(select(accounts.User).where(accounts.User.email == f"o9-{role}@x.fi")) is None:
                accounts.add_user(
                    session,
                    email=f"o9-{role}@x.fi",
                    name=role,
                    password=PASSWORD,
                    roles=roles,
                    now=datetime.now(UTC),
                    ui_language="en",
                )
        session.commit()
    settings = settings.model_copy(update={"rasa_url": "http://127.0.0.1:9", "action_server_url": "http://127.0.0.1:9"})
    with TestClient(create_app(settings), base_url="https://testserver") as test_client:
        yield test_client


def _login(client: TestClient, role: str | None) -> None:
    client.cookies.clear()
    if role is None:
        return
    form = client.get("/console/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    response = client.post(
        "/console/login",
        data={"email": f"o9-{role}@x.fi", "password": PASSWORD, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303 and "error" not in response.headers["location"]


def test_click_through_redirects_only_to_the_catalogue(
    client: TestClient, sessions: sessionmaker[Session], seeded: list[str]
) -> None:
    with sessions() as session:
        service = session.get(Service, seeded[0])
        assert service is not None
        urls = list(clicks.catalogue_urls(service))
        conversation_id = session.scalar(select(Conversation.id).where(Conversation.channel == "telegram").limit(1))
        before = session.scalar(select(ServiceClick.id).order_by(ServiceClick.id.desc()).limit(1)) or 0
    target = urls[-1]
    links: clicks.ClickLinks = client.app.state.links  # type: ignore[attr-defined]
    path = links.path(service.id, target, conversation_id)
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == target
    assert response.headers["referrer-policy"] == "no-referrer"
    # Redirected, but counted for no conversation: an unknown one, an unsigned or forged id,
    # and a signature made for another service's link.
    unsigned = f"/r/{service.id}/{clicks.link_id(target)}?c={conversation_id}"
    forged = links.path(service.id, target, "no-such-conversation").replace("no-such-conversation", str(conversation_id))
    other_service = unsigned.split("?")[0] + "?" + links.path(seeded[1], target, conversation_id).split("?")[1]
    for counted_for_none in (links.path(service.id, target, "no-such-conversation"), unsigned, forged, other_service):
        assert client.get(counted_for_none, follow_redirects=False).status_code == 303, counted_for_none
    with sessions() as session:
        new = list(session.scalars(select(ServiceClick).where(ServiceClick.id > before).order_by(ServiceClick.id)))
    assert [(c.service_id, c.conversation_id) for c in new] == [(service.id, conversation_id)] + [(service.id, None)] * 4
    # Unknown service, unknown link, a link of another service, a free URL: 404 and nothing recorded.
    other_url = next(u for s in _linked_services(sessions, 40) for u in clicks.catalogue_urls(s) if u not in urls)
    for bad in (
        f"/r/no:such/{clicks.link_id(target)}",
        f"/r/{service.id}/000000000000",
        f"/r/{service.id}/{clicks.link_id(other_url)}",
        "/r/" + service.id + "/https:%2F%2Fevil.example",
        f"/r/{service.id}/{clicks.link_id('https://evil.example/')}",
    ):
        assert client.get(bad, follow_redirects=False).status_code == 404, bad
    with sessions() as session:
        assert session.scalar(select(ServiceClick.id).order_by(ServiceClick.id.desc()).limit(1)) == new[-1].id


def test_service_cards_link_through_the_click_route(sessions: sessionmaker[Session], seeded: list[str]) -> None:
    with sessions() as session:
        service = session.get(Service, seeded[0])
        url = next(clicks.catalogue_urls(service))  # type: ignore[arg-type]
        card = {"id": service.id, "name": "x", "url": url, "why": [], "text_language": "fi"}  # type: ignore[union-attr]
        message = Message(
            conversation_id="c-1", seq=1, author="bot", text="", payload={"services": [card, {**card, "url": None}]}
        )
        links = clicks.ClickLinks(b"test key")
        view = message_view(message, links)
        assert view["services"][0]["url"] == links.path(service.id, url, "c-1")  # type: ignore[union-attr]
        assert re.search(r"\?c=c-1&s=[0-9a-f]{16}$", view["services"][0]["url"])  # type: ignore[union-attr]
        assert view["services"][1]["url"] is None
        assert (
            clicks.resolve(
                session=session, service_id=service.id, link=view["services"][0]["url"].split("/")[3].split("?")[0]
            )
            == url
        )  # type: ignore[union-attr]


DASHBOARD_ROUTES = ["/console/outcomes", "/console/outcomes/charts/languages.png", "/console/outcomes/summary.csv"]


@pytest.mark.parametrize("route", DASHBOARD_ROUTES)
@pytest.mark.parametrize(
    ("role", "status"),
    [
        (None, 303),
        ("counsellor", 403),
        ("supervisor", 200),
        ("org_admin", 200),
        ("editor", 200),
        ("approver", 200),
        ("platform_admin", 200),
    ],
)
def test_dashboard_route_role_matrix(client: TestClient, route: str, role: str | None, status: int) -> None:
    _login(client, role)
    response = client.get(route, params=PERIOD, follow_redirects=False)
    assert response.status_code == status, (route, role, response.text[:200])
    if status == 303:
        assert response.headers["location"].startswith("/console/login")


def test_dashboard_shows_the_viewers_figures(client: TestClient) -> None:
    _login(client, "supervisor")
    page = client.get("/console/outcomes", params=PERIOD)
    assert 'data-figure="median_wait">3.5 min<' in page.text and 'data-figure="conversations">24<' in page.text
    assert '<td class="num">&lt;5</td>' in page.text  # small counts as "<5", escaped
    assert client.get("/console/outcomes", params={**PERIOD, "organisation": "te"}).status_code == 403
    _login(client, "platform_admin")
    page = client.get("/console/outcomes", params=PERIOD)
    assert 'data-figure="median_wait">4.0 min<' in page.text and 'data-figure="p90_wait">14.0 min<' in page.text
    for fragment in PII_FRAGMENTS:
        assert fragment not in page.text
    assert client.get("/console/outcomes", params={**PERIOD, "organisation": "te"}).status_code == 200
    assert client.get("/console/outcomes", params={"from": "2026-03-08", "to": "2026-03-01"}).status_code == 422


def test_csv_export_of_every_table_and_the_charts(client: TestClient) -> None:
    _login(client, "platform_admin")
    page = client.get("/console/outcomes", params=PERIOD).text
    names = sorted(set(re.findall(r"/console/outcomes/([a-z_]+)\.csv", page)))
    assert len(names) == 19
    exported = {}
    for name in names:
        response = client.get(f"/console/outcomes/{name}.csv", params=PERIOD)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
        exported[name] = response.text
    assert "languages" in exported and exported["languages"].splitlines() == ["language,count", "fi,13", "en,6", "sv,5"]
    # The app's "now" is the real time: the seed's in-progress conversation is abandoned by now (11 of 24 final).
    assert "conversations,24" in exported["summary"] and "self_service_rate,46 %" in exported["summary"]
    assert "offline_message" in exported["daily"].splitlines()[0]
    for text_value in exported.values():
        assert not re.search(r",[1-4](,|$)", text_value, re.MULTILINE)  # no count 1-4 anywhere
        for fragment in PII_FRAGMENTS:
            assert fragment not in text_value
    assert client.get("/console/outcomes/secrets.csv", params=PERIOD).status_code == 404
    for name in charts.CHARTS:
        png = client.get(f"/console/outcomes/charts/{name}.png", params=PERIOD)
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG") and len(png.content) > 5000
    assert client.get("/console/outcomes/charts/nope.png", params=PERIOD).status_code == 404


def test_cli_report_prints_the_figures_and_writes_the_charts(
    settings: Settings, seeded: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPASTIN_STATE_DIR", str(settings.state_dir))
    from knowledge_base.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            cli, ["report", "--from", START.isoformat(), "--to", END.isoformat(), "--out", str(tmp_path)]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    # "now" is the real time here, so the in-progress conversation of the seed has become abandoned.
    assert "Conversations: 24" in result.output and "Self-service rate: 46 %" in result.output
    assert re.search(r"Abandoned\s+<5", result.output) and re.search(r"Referred by counsellor\s+7", result.output)
    for fragment in PII_FRAGMENTS:
        assert fragment not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{name}.png" for name in charts.CHARTS)
    bad = CliRunner().invoke(cli, ["report", "--from", "2026-03-08", "--to", "2026-03-01"])
    assert bad.exit_code == 2


def test_figures_need_no_organisation_rows_for_unknown_scopes(
    sessions: sessionmaker[Session], seeded: list[str]
) -> None:
    # A viewer with roles only in an organisation without tickets sees no handover figures at all.
    with sessions() as session:
        assert session.get(Organisation, "schools") is not None
    empty = _figures(sessions, scope=frozenset({"schools"}))
    assert empty.handovers_taken == 0 and empty.tables["topics"].rows == []  # type: ignore[attr-defined]
    assert empty.conversations == 24  # type: ignore[attr-defined]


def test_chat_api_cards_link_absolutely_through_the_click_route(
    client: TestClient, sessions: sessionmaker[Session], seeded: list[str]
) -> None:
    from api.routes.chat import TOKEN_HEADER
    from knowledge_base import conversations as store

    with sessions() as session:
        service = session.get(Service, seeded[0])
        url = next(clicks.catalogue_urls(service))  # type: ignore[arg-type]
        conversation, token = store.create_conversation(
            session=session, channel="web", language="fi", now=datetime.now(UTC)
        )
        card = {"id": service.id, "name": "x", "url": url, "why": [], "text_language": "fi"}  # type: ignore[union-attr]
        store.add_message(
            session=session,
            conversation=conversation,
            direction="out",
            author="bot",
            text="…",
            payload={"key": "bot.recommend_intro", "services": [card]},
            now=datetime.now(UTC),
        )
        session.commit()
    reply = client.get(f"/api/chat/{conversation.id}/messages", headers={TOKEN_HEADER: token}).json()
    link = reply["messages"][0]["services"][0]["url"]
    links: clicks.ClickLinks = client.app.state.links  # type: ignore[attr-defined]
    assert link == "https://testserver" + links.path(service.id, url, conversation.id)  # type: ignore[union-attr]
    opened = client.get(link, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == url
    with sessions() as session:
        assert (
            session.scalar(select(ServiceClick.service_id).where(ServiceClick.conversation_id == conversation.id))
            == service.id
        )  # type: ignore[union-attr]


def test_figures_cache_computes_once_per_filters_within_its_ttl() -> None:
    from api.outcome_cache import FiguresCache

    now = [0.0]
    calls: list[Filters] = []
    cache = FiguresCache(ttl=60, size=2, clock=lambda: now[0])

    def compute(filters: Filters) -> object:
        calls.append(filters)
        return object()

    week, month = Filters(START, END), Filters(START, END + timedelta(days=23))
    first = cache.get(week, lambda: compute(week))  # type: ignore[arg-type,return-value]
    assert cache.get(week, lambda: compute(week)) is first  # type: ignore[arg-type,return-value]
    cache.get(month, lambda: compute(month))  # type: ignore[arg-type,return-value]
    now[0] = 61
    assert cache.get(week, lambda: compute(week)) is not first  # type: ignore[arg-type,return-value]
    assert calls == [week, month, week]
