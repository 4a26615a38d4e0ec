"""Counsellors of the shared queue: their profiles (languages, topics, municipalities,
capacity), presence (online, away, offline, heartbeat) and who could take a ticket now.
Functions take `session=` and never commit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge_base.accounts import Principal
from knowledge_base.errors import InvalidQuery, NotAllowed
from knowledge_base.language import SUPPORTED_LANGUAGES
from knowledge_base.models import CounsellorProfile, Handover, Organisation, User
from knowledge_base.organisations import is_open

ONLINE = "online"
AWAY = "away"
OFFLINE = "offline"
PRESENCE = (ONLINE, AWAY, OFFLINE)
QUEUE_ROLES = ("counsellor", "supervisor")
MAX_CONCURRENT_LIMIT = 20


def queue_organisations(principal: Principal) -> frozenset[str]:
    """Organisations for which the principal answers tickets (counsellor or supervisor)."""
    return principal.organisations(*QUEUE_ROLES)


def may_use_queue(principal: Principal) -> bool:
    return principal.is_platform_admin or bool(queue_organisations(principal))


def _aware(moment: datetime | None, like: datetime) -> datetime | None:
    """SQLite gives naive datetimes back; they were stored as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=like.tzinfo)


def get_profile(*, session: Session, user_id: int) -> CounsellorProfile | None:
    return session.get(CounsellorProfile, user_id)


def ensure_profile(*, session: Session, principal: Principal) -> CounsellorProfile:
    """The principal's profile; made on first use with their organisation and UI language."""
    profile = session.get(CounsellorProfile, principal.user_id)
    if profile is None:
        if not may_use_queue(principal):
            raise NotAllowed("only counsellors and supervisors take tickets")
        organisations = sorted(queue_organisations(principal))
        profile = CounsellorProfile(
            user_id=principal.user_id,
            organisation_id=organisations[0] if organisations else None,
            languages=[principal.ui_language],
            topics=[],
            municipalities=[],
            status=OFFLINE,
            max_concurrent=3,
        )
        session.add(profile)
        session.flush()
    return profile


def update_profile(
    *,
    session: Session,
    principal: Principal,
    languages: Iterable[str],
    topics: Iterable[str],
    municipalities: Iterable[str],
    max_concurrent: int,
    organisation_id: str | None = None,
) -> CounsellorProfile:
    profile = ensure_profile(session=session, principal=principal)
    languages = [code for code in dict.fromkeys(code.strip().lower() for code in languages) if code]
    unknown = [code for code in languages if code not in SUPPORTED_LANGUAGES]
    if unknown or not languages:
        raise InvalidQuery(f"languages must be some of {', '.join(SUPPORTED_LANGUAGES)}; got {languages}")
    if not 1 <= max_concurrent <= MAX_CONCURRENT_LIMIT:
        raise InvalidQuery(f"max concurrent chats must be 1..{MAX_CONCURRENT_LIMIT}")
    if organisation_id is not None:
        if organisation_id not in queue_organisations(principal) and not principal.is_platform_admin:
            raise NotAllowed("you answer only for your own organisations")
        profile.organisation_id = organisation_id
    profile.languages = languages
    profile.topics = sorted({t.strip() for t in topics if t.strip()})
    profile.municipalities = sorted({m.strip() for m in municipalities if m.strip()})
    profile.max_concurrent = max_concurrent
    session.flush()
    return profile


def set_presence(*, session: Session, principal: Principal, status: str, now: datetime) -> CounsellorProfile:
    if status not in PRESENCE:
        raise InvalidQuery(f"status must be one of {', '.join(PRESENCE)}")
    profile = ensure_profile(session=session, principal=principal)
    profile.status = status
    profile.last_seen_at = now
    session.flush()
    return profile


def heartbeat(*, session: Session, principal: Principal, now: datetime) -> CounsellorProfile:
    profile = ensure_profile(session=session, principal=principal)
    profile.last_seen_at = now
    session.flush()
    return profile


def loads(*, session: Session) -> dict[int, int]:
    """Open chats per counsellor."""
    rows = session.execute(
        select(Handover.assigned_user_id, func.count())
        .where(Handover.status == "assigned", Handover.assigned_user_id.is_not(None))
        .group_by(Handover.assigned_user_id)
    )
    return {int(user_id): int(count) for user_id, count in rows}


@dataclass
class Available:
    """An online counsellor whose organisation is open now, with their current load."""

    user_id: int
    organisation_id: str
    languages: tuple[str, ...]
    topics: tuple[str, ...]
    municipalities: tuple[str, ...]
    max_concurrent: int
    load: int

    @property
    def has_capacity(self) -> bool:
        return self.load < self.max_concurrent


def available(
    *, session: Session, now: datetime, heartbeat_timeout: timedelta, business_hours: bool = True
) -> list[Available]:
    """Online counsellors with a fresh heartbeat whose (participating) organisation is open."""
    rows = session.execute(
        select(CounsellorProfile, Organisation)
        .join(Organisation, Organisation.id == CounsellorProfile.organisation_id)
        .join(User, User.id == CounsellorProfile.user_id)
        .where(CounsellorProfile.status == ONLINE, Organisation.participating.is_(True), User.active.is_(True))
    ).all()
    current = loads(session=session)
    result = []
    for profile, organisation in rows:
        seen = _aware(profile.last_seen_at, now)
        if seen is None or seen < now - heartbeat_timeout:
            continue
        if business_hours and not is_open(organisation.hours or {}, now):
            continue
        result.append(
            Available(
                user_id=profile.user_id,
                organisation_id=organisation.id,
                languages=tuple(profile.languages or ()),
                topics=tuple(profile.topics or ()),
                municipalities=tuple(profile.municipalities or ()),
                max_concurrent=profile.max_concurrent,
                load=current.get(profile.user_id, 0),
            )
        )
    return result


def any_organisation_open(*, session: Session, now: datetime) -> bool:
    organisations = session.scalars(select(Organisation).where(Organisation.participating.is_(True))).all()
    return any(is_open(o.hours or {}, now) for o in organisations)


def stale_online(*, session: Session, now: datetime, heartbeat_timeout: timedelta) -> list[CounsellorProfile]:
    """Counsellors marked online or away whose page has not sent a heartbeat in time."""
    profiles = session.scalars(select(CounsellorProfile).where(CounsellorProfile.status != OFFLINE)).all()
    stale = []
    for profile in profiles:
        seen = _aware(profile.last_seen_at, now)
        if seen is None or seen < now - heartbeat_timeout:
            stale.append(profile)
    return stale
