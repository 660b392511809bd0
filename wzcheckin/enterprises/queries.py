"""Enterprises and gates room, read-only queries for the enterprise admin's page and the
officials' health view."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.models import Worker
from wzcheckin.enterprises.models import Enterprise, HealthAlert, VisitorRegistration
from wzcheckin.programme import Programme
from wzcheckin.scanning.models import Checkpoint, Scan, ScanResult


@dataclass
class GateDay:
    day: date
    entries: int = 0
    refusals: int = 0
    refusals_by_reason: Counter = field(default_factory=Counter)
    visitors: int = 0
    recent: list[Scan] = field(default_factory=list)


def gate_day(session: Session, enterprise: Enterprise, programme: Programme, day: date,
             recent_limit: int = 30) -> GateDay:
    """Entries and refusals at the enterprise's gate on one local day."""
    start, end = programme.local_day_start(day), programme.local_day_end(day)
    gate_ids = sa.select(Checkpoint.id).where(Checkpoint.enterprise_id == enterprise.id).scalar_subquery()
    in_day = (Scan.checkpoint_id.in_(gate_ids), Scan.scanned_at >= start, Scan.scanned_at < end)
    summary = GateDay(day)
    for result, reason, count in session.execute(
        sa.select(Scan.result, Scan.reason, sa.func.count()).where(*in_day).group_by(Scan.result, Scan.reason)
    ):
        if result == ScanResult.ACCEPTED:
            summary.entries += count
        else:
            summary.refusals += count
            summary.refusals_by_reason[reason] += count
    summary.visitors = session.scalar(
        sa.select(sa.func.count()).select_from(VisitorRegistration).where(
            VisitorRegistration.enterprise_id == enterprise.id, VisitorRegistration.registered_at >= start,
            VisitorRegistration.registered_at < end)
    ) or 0
    summary.recent = list(session.scalars(
        sa.select(Scan).where(*in_day).order_by(Scan.scanned_at.desc(), Scan.id.desc()).limit(recent_limit)
    ))
    return summary


def health_alerts(session: Session, *, enterprise_id: int | None = None, district: str | None = None,
                  since: datetime | None = None, limit: int = 200) -> list[HealthAlert]:
    """Newest first; open (unacknowledged) and acknowledged alike."""
    query = sa.select(HealthAlert).order_by(HealthAlert.raised_at.desc(), HealthAlert.id.desc()).limit(limit)
    if enterprise_id is not None:
        query = query.where(HealthAlert.enterprise_id == enterprise_id)
    if district:
        query = query.join(Enterprise, HealthAlert.enterprise_id == Enterprise.id).where(
            Enterprise.district == district)
    if since is not None:
        query = query.where(HealthAlert.raised_at >= since)
    return list(session.scalars(query))


def roster(session: Session, enterprise: Enterprise) -> list[Worker]:
    """Workers who name the enterprise: those awaiting confirmation first, then by name."""
    return list(session.scalars(
        sa.select(Worker).where(Worker.enterprise_id == enterprise.id)
        .order_by(Worker.employment_confirmed, Worker.name, Worker.id)
    ))


def visitors_on(session: Session, enterprise: Enterprise, programme: Programme, day: date,
                limit: int = 50) -> list[VisitorRegistration]:
    start, end = programme.local_day_start(day), programme.local_day_end(day)
    return list(session.scalars(
        sa.select(VisitorRegistration).where(
            VisitorRegistration.enterprise_id == enterprise.id, VisitorRegistration.registered_at >= start,
            VisitorRegistration.registered_at < end)
        .order_by(VisitorRegistration.registered_at.desc()).limit(limit)
    ))
