"""The one seam between the actions and the knowledge base. The SDK instantiates
actions itself, so they reach the knowledge base through `get_kb()`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from knowledge_base.bootstrap import ensure_imported, open_store
from knowledge_base.i18n import Catalogue
from knowledge_base.live_index import CatalogueWatcher, open_live_search
from knowledge_base.municipalities import MunicipalityDirectory
from knowledge_base.search import SearchService
from knowledge_base.settings import Settings, get_settings
from knowledge_base.sources import load_safety_contacts

@dataclass(frozen=True)
class KnowledgeBase:
    settings: Settings
    search: SearchService
    municipalities: MunicipalityDirectory
    messages: Catalogue
    safety_contacts: dict[str, str]
    watcher: CatalogueWatcher  # started by the action server, so published changes reach the bot


@lru_cache(maxsize=1)
def get_kb() -> KnowledgeBase:
    settings = get_settings()
    _engine, sessions = open_store(settings)
    ensure_imported(sessions, settings)
    search, watcher = open_live_search(sessions, settings)
    return KnowledgeBase(
        settings=settings,
        search=search,
        watcher=watcher,
        municipalities=MunicipalityDirectory.load(),
        messages=Catalogue.load(),
        safety_contacts=load_safety_contacts(settings.data_dir),
    )
