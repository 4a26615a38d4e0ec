"""The content workflow as a library: versions, approval, concurrency, validation,
roles, the audit log, and the live index in one process (no restart)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from knowledge_base import accounts, content, content_model, faq
from knowledge_base.accounts import Principal
from knowledge_base.contracts import Query
from knowledge_base.errors import Conflict, Forbidden, InvalidQuery, NotFound
from knowledge_base.live_index import CatalogueWatcher, publish_vectors
from knowledge_base.models import PassageVector, Service, User
from knowledge_base.municipalities import MunicipalityDirectory
from knowledge_base.search import SearchService
from knowledge_base.live_index import open_live_search
from knowledge_base.settings import Settings

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"


def _principal(sessions: sessionmaker[Session], email: str, *roles: tuple[str | None, str]) -> Principal:
    with sessions() as session:
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            user = accounts.add_user(session, email=email, name=email, password=PASSWORD, roles=roles, now=NOW)
            session.commit()
        return accounts.principal_of(user)


@pytest.fixture(scope="module", autouse=True)
def _staff(content_sessions: sessionmaker[Session]) -> None:
    global EDITOR, APPROVER, OTHER_EDITOR
    EDITOR = _principal(content_sessions, "lib-editor@hel.fi", ("helsinki", "editor"))
    APPROVER = _principal(content_sessions, "lib-approver@hel.fi", ("helsinki", "approver"))
    OTHER_EDITOR = _principal(content_sessions, "lib-editor@suomi.fi", ("suomi-fi", "editor"))


@pytest.fixture(scope="module")
def municipalities() -> MunicipalityDirectory:
    return MunicipalityDirectory.load()


@pytest.fixture(scope="module")
def live(content_sessions: sessionmaker[Session], content_settings: Settings) -> tuple[SearchService, CatalogueWatcher]:
    return open_live_search(content_sessions, content_settings)


def _helsinki_service(sessions: sessionmaker[Session], skip: int) -> str:
    with sessions() as session:
        ids = session.scalars(
            select(Service.id).where(Service.organisation_id == "helsinki", Service.status == "published").order_by(Service.id)
        ).all()
    return ids[skip]


def _with_text(data: dict[str, Any], language: str, **fields: str) -> dict[str, Any]:
    data = {**data, "texts": {**data["texts"], language: {**data["texts"].get(language, {}), **fields}}}
    return data


def _found(search: SearchService, text: str, service_id: str, **query: Any) -> bool:
    return any(hit.id == service_id for hit in search.search(Query(text, "en", top_k=10, **query)).results)


def test_edit_review_publish_keeps_the_published_text_live_until_publish(
    content_sessions: sessionmaker[Session], live: tuple[SearchService, CatalogueWatcher], municipalities: MunicipalityDirectory
) -> None:
    search, watcher = live
    service_id = _helsinki_service(content_sessions, 3)
    marker = "Zorblaxian quantum allotment counselling"
    with content_sessions() as session:
        draft = content.start_draft(session=session, principal=EDITOR, service_id=service_id, now=NOW)
        edited = _with_text(draft.content, "en", name=marker, summary="Help with zorblaxian allotments.")
        saved = content.save_draft(session=session, principal=EDITOR, version_id=draft.id, lock=draft.lock,
                                   content=edited, municipalities=municipalities, now=NOW)  # fmt: skip
        session.commit()
        draft_id, lock = saved.id, saved.lock
    assert lock == 2
    watcher.poll_once()
    assert not _found(search, marker, service_id), "a draft's text must never be found"
    with content_sessions() as session:
        assert session.get(Service, service_id).texts  # type: ignore[union-attr]
        assert marker not in [t.name for t in session.get(Service, service_id).texts]  # type: ignore[union-attr]
        with pytest.raises(Forbidden):
            content.publish(session=session, principal=EDITOR, version_id=draft_id, now=NOW)
        with pytest.raises(Conflict, match="submit it for review"):
            content.publish(session=session, principal=APPROVER, version_id=draft_id, now=NOW)
        content.submit(session=session, principal=EDITOR, version_id=draft_id, now=NOW)
        content.publish(session=session, principal=APPROVER, version_id=draft_id, now=NOW + timedelta(minutes=1))
        languages = len(session.get(Service, service_id).texts)  # type: ignore[union-attr]
        assert publish_vectors(session, search, service_id, NOW) == 2 * languages  # title and full passage each
        assert publish_vectors(session, search, service_id, NOW) == 0  # stored once
        session.commit()
    assert watcher.poll_once() == 1
    assert _found(search, marker, service_id)
    assert search.record(service_id).texts["en"].name == marker

    with content_sessions() as session:
        history = content.versions(session, service_id)
        assert [(v.number, v.state) for v in history] == [(2, "published"), (1, "superseded")]
        diff = content.version_diff(session, history[0])
        assert f"+name [en]: {marker}" in diff and any(line.startswith("-name [en]: ") for line in diff)
        actions = [entry.action for entry in content.audit_entries(session, service_id=service_id)]
        assert actions == ["published", "submitted", "draft_saved", "draft_created"]
        assert content.audit_entries(session, service_id=service_id)[0].actor == "lib-approver@hel.fi"


def test_archive_removes_a_service_from_search_and_restore_brings_it_back(
    content_sessions: sessionmaker[Session], live: tuple[SearchService, CatalogueWatcher]
) -> None:
    search, watcher = live
    service_id = _helsinki_service(content_sessions, 5)
    name = search.record(service_id).texts.get("fi") or next(iter(search.record(service_id).texts.values()))
    assert _found(search, name.name, service_id)
    with content_sessions() as session:
        with pytest.raises(Forbidden):
            content.set_status(session=session, principal=EDITOR, service_id=service_id, action="archive", now=NOW)
        content.set_status(session=session, principal=APPROVER, service_id=service_id, action="archive", now=NOW)
        session.commit()
    watcher.poll_once()
    assert not _found(search, name.name, service_id)
    with pytest.raises(NotFound):
        search.record(service_id)
    with content_sessions() as session:
        content.set_status(session=session, principal=APPROVER, service_id=service_id, action="restore", now=NOW)
        session.commit()
    watcher.poll_once()
    assert _found(search, name.name, service_id)


def test_a_stale_save_is_refused_and_overwrites_nothing(
    content_sessions: sessionmaker[Session], municipalities: MunicipalityDirectory
) -> None:
    service_id = _helsinki_service(content_sessions, 7)
    with content_sessions() as session:
        draft = content.start_draft(session=session, principal=EDITOR, service_id=service_id, now=NOW)
        session.commit()
        first, lock = draft.content, draft.lock
    with content_sessions() as one, content_sessions() as two:
        content.save_draft(session=one, principal=EDITOR, version_id=draft.id, lock=lock,
                           content=_with_text(first, "fi", summary="Ensimmäinen"), municipalities=municipalities, now=NOW)  # fmt: skip
        one.commit()
        with pytest.raises(Conflict, match="saved by someone else"):
            content.save_draft(session=two, principal=EDITOR, version_id=draft.id, lock=lock,
                               content=_with_text(first, "fi", summary="Toinen"), municipalities=municipalities, now=NOW)  # fmt: skip
        two.rollback()
    with content_sessions() as session:
        assert content.get_version(session, draft.id).content["texts"]["fi"]["summary"] == "Ensimmäinen"


def test_other_organisations_editor_cannot_touch_a_service(content_sessions: sessionmaker[Session]) -> None:
    service_id = _helsinki_service(content_sessions, 9)
    with content_sessions() as session:
        with pytest.raises(Forbidden, match="helsinki"):
            content.start_draft(session=session, principal=OTHER_EDITOR, service_id=service_id, now=NOW)


def _valid() -> dict[str, Any]:
    data = content_model.empty_content()
    data["texts"] = {"fi": {"name": "Palvelu"}}
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["eligibility"].update(age_min=30, age_max=18), r"age_max \(18\) is below age_min \(30\)"),
        (lambda d: d["eligibility"].update(municipalities=["091", "999"]), "unknown municipality code 999"),
        (lambda d: d.update(texts={"fi": {"name": " ", "summary": "x"}, "sv": {"name": ""}}), "name in at least one language"),
        (lambda d: d["texts"]["fi"].update(description="x" * 5 * 1024 * 1024), "description \\(fi\\) is 5,242,880 characters; the limit is 20,000"),
        (lambda d: d["eligibility"].update(employment_statuses=["astronaut"]), "astronaut not one of"),
        (lambda d: d.update(links={"fi": [{"title": "x", "url": "javascript:alert(1)"}]}), "not an http"),
    ],
)
def test_bad_content_is_refused_with_a_clear_message(change: Any, message: str, municipalities: MunicipalityDirectory) -> None:
    data = _valid()
    change(data)
    with pytest.raises(InvalidQuery, match=message):
        content_model.validate(data, municipalities)


def test_script_tags_are_stored_as_text(municipalities: MunicipalityDirectory) -> None:
    data = _valid()
    data["texts"]["fi"]["description"] = "<script>alert('x')</script>"
    assert content_model.validate(data, municipalities)["texts"]["fi"]["description"] == "<script>alert('x')</script>"


def test_curated_eligibility_filters_search_and_extracted_only_ranks(
    content_sessions: sessionmaker[Session], live: tuple[SearchService, CatalogueWatcher], municipalities: MunicipalityDirectory
) -> None:
    search, watcher = live
    service_id = _helsinki_service(content_sessions, 11)
    record = search.record(service_id)
    name = (record.texts.get("en") or record.texts.get("fi") or next(iter(record.texts.values()))).name
    assert _found(search, name, service_id, age=70)
    with content_sessions() as session:
        draft = content.start_draft(session=session, principal=EDITOR, service_id=service_id, now=NOW)
        data = draft.content
        data["eligibility"].update(age_min=18, age_max=29, municipalities=["091"])
        content.save_draft(session=session, principal=EDITOR, version_id=draft.id, lock=draft.lock, content=data,
                           municipalities=municipalities, now=NOW)  # fmt: skip
        content.submit(session=session, principal=EDITOR, version_id=draft.id, now=NOW)
        content.publish(session=session, principal=APPROVER, version_id=draft.id, now=NOW)
        session.commit()
    watcher.poll_once()
    assert _found(search, name, service_id, age=25)
    assert not _found(search, name, service_id, age=70)
    assert not _found(search, name, service_id, municipality="Espoo")
    assert _found(search, name, service_id)


def test_faq_answer_matches_close_questions_only_once_published(
    content_sessions: sessionmaker[Session], live: tuple[SearchService, CatalogueWatcher]
) -> None:
    search, watcher = live
    with content_sessions() as session:
        row = faq.create_faq(session=session, principal=EDITOR, organisation_id="helsinki", language="en",
                             question="How do I register as an unemployed jobseeker?",
                             answer="Register online at the TE services before your first day of unemployment.",
                             service_id=None, now=NOW)  # fmt: skip
        session.commit()
        faq_id = row.id
    watcher.poll_once()
    assert search.faq_match("how do i register as unemployed job seeker", "en") is None  # a draft
    with content_sessions() as session:
        with pytest.raises(Forbidden):
            faq.set_faq_status(session=session, principal=EDITOR, faq_id=faq_id, status="published", now=NOW)
        faq.set_faq_status(session=session, principal=APPROVER, faq_id=faq_id, status="published", now=NOW)
        publish_vectors(session, search, None, NOW, faqs_changed=True)
        session.commit()
    watcher.poll_once()
    match = search.faq_match("How do I register as an unemployed job seeker?", "en")
    assert match is not None and match.entry.id == faq_id
    assert search.faq_match("Where can I learn Finnish for free?", "en") is None
    assert search.faq_match("How do I register as an unemployed job seeker?", "fi") is None
    assert search.faq_match("How much unemployment benefit will I get?", "en") is None


def test_vectors_stored_at_publish_are_reused_by_another_process(
    content_sessions: sessionmaker[Session], content_settings: Settings
) -> None:
    with content_sessions() as session:
        assert session.scalars(select(PassageVector)).first() is not None


def test_reimport_of_an_edited_service_makes_a_source_draft_never_overwriting(
    content_sessions: sessionmaker[Session], content_settings: Settings, tmp_path: Any
) -> None:
    import json
    import shutil

    from knowledge_base.ingest import import_catalogue

    data_dir = tmp_path / "data"
    shutil.copytree(content_settings.data_dir, data_dir)
    path = data_dir / "kb_helsinki_tpr_services.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    with content_sessions() as session:
        edited = {row.id for row in session.scalars(select(Service).where(Service.edited_at.is_not(None)))}
        open_drafts = {v.service_id for v in session.scalars(select(content.ServiceVersion).where(content.ServiceVersion.state.in_(content.OPEN_STATES)))}
    target = next(r for r in records if r["id"] in edited and r["id"] not in open_drafts)
    target["summaries"]["fi"] = "Lähteen uusi tiivistelmä."
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    with content_sessions() as session:
        live_before = {t.language: t.summary for t in session.get(Service, target["id"]).texts}  # type: ignore[union-attr]
        report = import_catalogue(session=session, data_dir=data_dir, now=NOW)
        session.commit()
        assert target["id"] in report.source_changed
        row = session.get(Service, target["id"])
        assert row is not None and row.source_changed
        assert {t.language: t.summary for t in row.texts} == live_before  # the live text is untouched
        draft = content.open_draft(session, target["id"])
        assert draft is not None and draft.content["texts"]["fi"]["summary"] == "Lähteen uusi tiivistelmä."
        again = import_catalogue(session=session, data_dir=data_dir, now=NOW)
        assert target["id"] in again.unchanged  # the source version is in the draft: no second draft
        session.rollback()


def test_live_update_gives_the_same_results_as_a_fresh_index(
    content_sessions: sessionmaker[Session], content_settings: Settings, live: tuple[SearchService, CatalogueWatcher]
) -> None:
    search, watcher = live
    watcher.poll_once()
    fresh, _ = open_live_search(content_sessions, content_settings)
    for text in ("lost my job, need advice", "Finnish course for immigrants", "kesätyö nuorille", "Bicycle repair"):
        ours = [(h.id, h.score) for h in search.search(Query(text, "en", top_k=5)).results]
        theirs = [(h.id, h.score) for h in fresh.search(Query(text, "en", top_k=5)).results]
        assert ours == theirs, text


def test_cli_export_and_import_dry_run(content_settings: Settings, content_sessions: sessionmaker[Session], tmp_path: Any, monkeypatch: Any) -> None:
    import json

    from click.testing import CliRunner

    from knowledge_base.cli import main as cli
    from knowledge_base.settings import get_settings

    monkeypatch.setenv("OPASTIN_STATE_DIR", str(content_settings.state_dir))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        out = tmp_path / "suomi.jsonl"
        exported = CliRunner().invoke(cli, ["content", "export", str(out), "--organisation", "suomi-fi"])
        assert exported.exit_code == 0, exported.output
        records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert len(records) == 250 and {r["organisation_id"] for r in records} == {"suomi-fi"}
        records[1]["eligibility"]["age_max"] = 29
        records[2]["eligibility"]["age_min"] = "lots"
        out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        dry = CliRunner().invoke(cli, ["content", "import", str(out), "--dry-run"])
        assert dry.exit_code == 0, dry.output
        report = json.loads(dry.output)
        assert report["changed"] == [records[1]["id"]] and report["unchanged"] == 248
        assert "whole number" in report["invalid"][records[2]["id"]]
        assert "+eligibility age_max: 29" in report["diffs"][records[1]["id"]]
        with content_sessions() as session:
            assert content.open_draft(session, records[1]["id"]) is None  # a dry run writes nothing
        bad = CliRunner().invoke(cli, ["content", "import", str(tmp_path / "missing.jsonl")])
        assert bad.exit_code == 2
    finally:
        get_settings.cache_clear()


def test_workflow_and_live_update_on_postgresql(postgres_url: str, tmp_path: Any, municipalities: MunicipalityDirectory) -> None:
    """The migration, the compare-and-set save and the ordered change log on PostgreSQL."""
    from knowledge_base.bootstrap import ensure_imported, open_store

    settings = Settings(state_dir=tmp_path, database_url=postgres_url)
    engine, sessions = open_store(settings)
    try:
        ensure_imported(sessions, settings)
        editor = _principal(sessions, "pg-editor@hel.fi", ("helsinki", "editor"))
        approver = _principal(sessions, "pg-approver@hel.fi", ("helsinki", "approver"))
        search, watcher = open_live_search(sessions, settings)
        service_id = _helsinki_service(sessions, 2)
        with sessions() as session:
            draft = content.start_draft(session=session, principal=editor, service_id=service_id, now=NOW)
            data = _with_text(draft.content, "en", name="Bicycle repair workshop for young people",
                              summary="Learn to repair bicycles with an instructor.")  # fmt: skip
            content.save_draft(session=session, principal=editor, version_id=draft.id, lock=draft.lock, content=data,
                               municipalities=municipalities, now=NOW)  # fmt: skip
            with pytest.raises(Conflict):  # lock 1 was used by the save above
                content.save_draft(session=session, principal=editor, version_id=draft.id, lock=1, content=data,
                                   municipalities=municipalities, now=NOW)  # fmt: skip
            session.rollback()
        with sessions() as session:
            draft = content.start_draft(session=session, principal=editor, service_id=service_id, now=NOW)
            content.save_draft(session=session, principal=editor, version_id=draft.id, lock=draft.lock, content=data,
                               municipalities=municipalities, now=NOW)  # fmt: skip
            content.submit(session=session, principal=editor, version_id=draft.id, now=NOW)
            content.publish(session=session, principal=approver, version_id=draft.id, now=NOW)
            publish_vectors(session, search, service_id, NOW)
            session.commit()
        assert watcher.poll_once() == 1
        assert _found(search, "Where can I learn to repair bicycles?", service_id)
    finally:
        engine.dispose()
