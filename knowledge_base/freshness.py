"""Keep published content from going stale silently.

The clock of a service starts at its import or its last review (publishing counts as
a review). After `review_days` its organisation's editors get a reminder (a stored
notification shown in the content console); each grace period brings another; after
the last one the service is marked outdated: still shown, always with a notice.

`run_freshness_job` runs the check once across all API workers: a worker must hold
the job's lease (knowledge_base/leases.py) to run it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from knowledge_base import repository
from knowledge_base.catalogue_changes import record_change
from knowledge_base import leases
from knowledge_base.models import AuditEntry, ContentNotification, Service
from knowledge_base.settings import Settings

logger = logging.getLogger(__name__)

JOB_NAME = "freshness"
KIND_BY_STAGE = {1: "review_due", 2: "review_overdue"}


@dataclass(frozen=True)
class FreshnessPolicy:
    review_days: int = 120
    grace_days: int = 15
    grace_periods: int = 2

    @classmethod
    def from_settings(cls, settings: Settings) -> FreshnessPolicy:
        return cls(settings.freshness_review_days, settings.freshness_grace_days, settings.freshness_grace_periods)

    @property
    def outdated_stage(self) -> int:
        return self.grace_periods + 1

    def stage(self, age: timedelta) -> int:
        """0 fresh; 1..grace_periods reminded; grace_periods + 1 outdated."""
        days = age.days
        if days < self.review_days:
            return 0
        return min(1 + (days - self.review_days) // max(self.grace_days, 1), self.outdated_stage)


@dataclass
class FreshnessReport:
    reminded: list[str] = field(default_factory=list)
    outdated: list[str] = field(default_factory=list)


def aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes; everything here is stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def clock_start(row: Service) -> datetime:
    return aware(row.reviewed_at or row.imported_at)


def check_freshness(*, session: Session, now: datetime, policy: FreshnessPolicy) -> FreshnessReport:
    report = FreshnessReport()
    rows = session.scalars(select(Service).where(Service.status == repository.PUBLISHED).order_by(Service.id))
    for row in rows:
        stage = policy.stage(now - clock_start(row))
        if stage <= row.freshness_stage:
            continue
        row.freshness_stage = stage
        if stage >= policy.outdated_stage:
            row.status = repository.OUTDATED
            record_change(session, "service", row.id, now)
            kind = "outdated"
            report.outdated.append(row.id)
        else:
            kind = KIND_BY_STAGE.get(stage, "review_overdue")
            report.reminded.append(row.id)
        session.add(ContentNotification(organisation_id=row.organisation_id, service_id=row.id, kind=kind, created_at=now))
        session.add(AuditEntry(at=now, user_id=None, actor="system", action=kind, service_id=row.id, detail={"stage": stage}))
    session.flush()
    return report


def run_freshness_job(
    sessions: sessionmaker[Session], settings: Settings, holder: str, now: datetime | None = None
) -> FreshnessReport | None:
    """Run the check unless another worker holds the lease; None when it did not run."""
    now = now or datetime.now(UTC)
    lease = timedelta(seconds=max(settings.freshness_interval_seconds * 0.9, 1.0))
    with sessions() as session:
        if not leases.acquire_lease(session=session, name=JOB_NAME, holder=holder, now=now, ttl=lease):
            session.rollback()
            return None
        session.commit()
        report = check_freshness(session=session, now=now, policy=FreshnessPolicy.from_settings(settings))
        session.commit()
    if report.reminded or report.outdated:
        logger.info("freshness: %d reminders, %d marked outdated", len(report.reminded), len(report.outdated))
    return report


def open_notifications(session: Session, organisation_ids: frozenset[str] | None) -> list[ContentNotification]:
    query = select(ContentNotification).where(ContentNotification.resolved_at.is_(None)).order_by(ContentNotification.id.desc())
    if organisation_ids is not None:
        query = query.where(ContentNotification.organisation_id.in_(sorted(organisation_ids)))
    return list(session.scalars(query.limit(500)))
