"""The catalogue store on SQLite and PostgreSQL: migrations, import, provenance."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from knowledge_base import repository
from knowledge_base.bootstrap import open_store
from knowledge_base.errors import DataUnavailable, NotFound
from knowledge_base.ingest import import_catalogue
from knowledge_base.models import Base, Service, ServiceText
from knowledge_base.settings import PACKAGE_DIR, Settings

BUNDLED = PACKAGE_DIR / "data"


def small_catalogue(tmp_path: Path, helsinki: int = 5, ptv: int = 3) -> Path:
    """A data folder holding the first records of each bundled file."""
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("sources.yml", "life_events.yml"):
        shutil.copy(BUNDLED / name, folder)
    for name, count in (("kb_helsinki_tpr_services.jsonl", helsinki), ("kb_ptv_general_descriptions.jsonl", ptv)):
        lines = (BUNDLED / name).read_text(encoding="utf-8").splitlines()[:count]
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(params=["sqlite", "postgresql"])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    return Settings(state_dir=tmp_path / "state", database_url=url, data_dir=small_catalogue(tmp_path))


def now() -> datetime:
    return datetime.now(UTC)


def test_migrated_schema_matches_models(store_settings: Settings) -> None:
    engine, _sessions = open_store(store_settings)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == []


def test_import_is_idempotent_and_keeps_source_ids(store_settings: Settings) -> None:
    engine, sessions = open_store(store_settings)
    with sessions() as session:
        first = import_catalogue(session=session, data_dir=store_settings.data_dir, now=now())
        session.commit()
    with sessions() as session:
        second = import_catalogue(session=session, data_dir=store_settings.data_dir, now=now())
        session.commit()
        ids = session.scalars(select(Service.id).order_by(Service.id)).all()
    engine.dispose()
    assert first.summary() == {"created": 8, "updated": 0, "unchanged": 0, "source_changed": 0}
    assert second.summary() == {"created": 0, "updated": 0, "unchanged": 8, "source_changed": 0}
    expected = [
        json.loads(line)["id"]
        for name in ("kb_helsinki_tpr_services.jsonl", "kb_ptv_general_descriptions.jsonl")
        for line in (store_settings.data_dir / name).read_text(encoding="utf-8").splitlines()
    ]
    assert ids == sorted(expected)


def _rewrite_first_summary(data_dir: Path, new_summary: str) -> str:
    path = data_dir / "kb_helsinki_tpr_services.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    records[0]["summaries"]["fi"] = new_summary
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return str(records[0]["id"])


def test_reimport_updates_unedited_and_flags_edited(store_settings: Settings) -> None:
    engine, sessions = open_store(store_settings)
    with sessions() as session:
        import_catalogue(session=session, data_dir=store_settings.data_dir, now=now())
        session.commit()
    changed_id = _rewrite_first_summary(store_settings.data_dir, "Uusi tiivistelmä lähteestä.")
    with sessions() as session:
        report = import_catalogue(session=session, data_dir=store_settings.data_dir, now=now())
        session.commit()
        assert report.updated == [changed_id]
        assert repository.get_service(session=session, service_id=changed_id).texts["fi"].summary == (
            "Uusi tiivistelmä lähteestä."
        )
        # An editor changes the service and writes an internal instruction.
        repository.mark_edited(session=session, service_id=changed_id, when=now())
        row = session.get(ServiceText, (changed_id, "fi"))
        assert row is not None
        row.summary = "Toimittajan muokkaama."
        row.internal_instructions = "Kirjaa asiakastietojärjestelmään."
        session.commit()
    _rewrite_first_summary(store_settings.data_dir, "Lähde muuttui taas.")
    with sessions() as session:
        report = import_catalogue(session=session, data_dir=store_settings.data_dir, now=now())
        session.commit()
        service = session.get(Service, changed_id)
        assert service is not None
        text_row = session.get(ServiceText, (changed_id, "fi"))
        assert text_row is not None
        assert report.source_changed == [changed_id]
        assert service.source_changed is True
        assert text_row.summary == "Toimittajan muokkaama."
        assert text_row.internal_instructions == "Kirjaa asiakastietojärjestelmään."
    engine.dispose()


def test_unknown_service_is_not_found(store_settings: Settings) -> None:
    engine, sessions = open_store(store_settings)
    with sessions() as session, pytest.raises(NotFound):
        repository.get_service(session=session, service_id="hel-tpr:does-not-exist")
    engine.dispose()


def test_bundled_import_records_provenance_and_eligibility(sessions) -> None:  # type: ignore[no-untyped-def]
    with sessions() as session:
        assert repository.count_services(session=session) == 843
        helsinki = session.get(Service, "hel-tpr:2773")
        national = session.scalars(select(Service).where(Service.source == "ptv_general_description")).first()
    assert helsinki is not None and national is not None
    assert (helsinki.organisation_id, helsinki.licence, helsinki.area_type, helsinki.municipality_code) == (
        "helsinki", "CC BY 4.0", "local", "091"
    )
    assert (national.organisation_id, national.licence, national.area_type) == ("suomi-fi", "MIT", "national")
    assert helsinki.imported_at is not None and helsinki.source_hash
    # Both sources name life events the same way (PTV's KE5 is the register's IMMIGRATING_TO_FINLAND).
    assert "IMMIGRATING_TO_FINLAND" in helsinki.life_events
    with sessions() as session:
        ptv_movers = session.get(Service, "ptv-gd:d7bd004b-b4ee-4f53-85e0-4d0dce13a344")
    assert ptv_movers is not None and "IMMIGRATING_TO_FINLAND" in ptv_movers.life_events


def test_missing_data_file_is_a_clear_error(tmp_path: Path) -> None:
    data_dir = small_catalogue(tmp_path)
    (data_dir / "kb_ptv_general_descriptions.jsonl").unlink()
    settings = Settings(state_dir=tmp_path / "state", data_dir=data_dir)
    engine, sessions = open_store(settings)
    with sessions() as session, pytest.raises(DataUnavailable, match="kb_ptv_general_descriptions.jsonl"):
        import_catalogue(session=session, data_dir=data_dir, now=now())
    engine.dispose()


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, database_url="postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(DataUnavailable, match="database not usable"):
        open_store(settings)
