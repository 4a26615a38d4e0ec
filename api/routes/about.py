from __future__ import annotations

from fastapi import APIRouter

from api.deps import SettingsDep
from api.schemas import About, SourceInfo
from knowledge_base.sources import load_sources

router = APIRouter(prefix="/api", tags=["about"])


@router.get("/about", response_model=About)
def about(settings: SettingsDep) -> About:
    sources = [
        SourceInfo(title=s.title, licence=s.licence, licence_url=s.licence_url, origin=s.origin, file=s.file)
        for s in load_sources(settings.data_dir)
    ]
    return About(name="Opastin", sources=sources)
