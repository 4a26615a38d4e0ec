from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from api.deps import SearchDep, SettingsDep
from api.schemas import SearchResponse
from knowledge_base import contracts

router = APIRouter(prefix="/api", tags=["search"])


@router.get("/search", response_model=SearchResponse)
async def search(
    search: SearchDep,
    settings: SettingsDep,
    q: Annotated[str, Query(description="What the user wrote, in any supported language.")],
    lang: Annotated[str | None, Query(description="The user's language, for short or ambiguous text.")] = None,
    age: Annotated[int | None, Query(ge=0, le=130)] = None,
    municipality: Annotated[str | None, Query(description="Code or name, any inflection.")] = None,
    target_group: str | None = None,
    life_event: str | None = None,
    employment_status: str | None = None,
    service_language: str | None = None,
    top: Annotated[int | None, Query(ge=1, le=50)] = None,
) -> SearchResponse:
    query = contracts.Query(
        text=q,
        language=lang,
        age=age,
        municipality=municipality,
        target_group=target_group,
        life_event=life_event,
        employment_status=employment_status,
        service_language=service_language,
        top_k=top or settings.default_top_k,
    )
    result = await run_in_threadpool(search.search, query)
    return SearchResponse.model_validate(asdict(result))
