from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep
from api.schemas import PublicService, PublicText
from knowledge_base import repository
from knowledge_base.i18n import Catalogue
from knowledge_base.language import check_language

router = APIRouter(prefix="/api", tags=["services"])


@router.get("/services/{service_id}", response_model=PublicService)
def get_service(service_id: str, session: SessionDep, lang: str = "fi") -> PublicService:
    record = repository.get_service(session=session, service_id=service_id)
    # An outdated service is shown with a notice, never silently.
    notice = Catalogue.load().text("service.outdated_notice", check_language(lang), date=record.imported_on) if record.outdated else None
    return PublicService(
        id=record.id,
        organisation_id=record.organisation_id,
        area_type=record.area_type,
        municipality_code=record.municipality_code,
        texts=[PublicText(language=t.language, name=t.name, summary=t.summary, description=t.description) for t in record.texts.values()],
        links=record.links,
        channels=list(record.channels),
        source_url=record.source_url,
        licence=record.licence,
        source_as_of=record.imported_on,
        outdated=record.outdated,
        notice=notice,
    )
