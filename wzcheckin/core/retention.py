"""Retention (PIPL art. 19, GB/T 35273 §6.1: keep personal data no longer than the purpose needs):
``wzcheckin retention purge`` deletes the raw personal records of a programme once its appeal
window after the cutoff has passed (``[programme] appeal_window_days``).

What is raw and goes — each record made before the horizon (cutoff + appeal window):

==========================  ====================================================================
``scans``                   every staff scan: who was where when, with temperatures
``health_alerts``           fever and symptom refusals (health data)
``visitor_registrations``   visitors' names, ID and phone numbers (ciphertext), temperatures
``activity_photos``         check-in photos (the check-in itself stays, without its photo)
==========================  ====================================================================

What stays: the snapshot (every worker's status and reason, every enterprise's headcount, tier
and amount), subsidy applications and decisions, points, packs handed out, bookings, claims —
the decisions and what was given, which the cutoff report and any later audit read. The report
is the same after a purge: it reads the snapshot, never the scans.

The purge refuses to run before the horizon, and before the programme's official snapshot is
complete (the raw evidence is what the cutoff reads). Deletions run in batches, each committed,
so a purge can be stopped and run again; ``--dry-run`` only counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.benefits.models import ActivityCheckin, ActivityPhoto
from wzcheckin.db import unit_of_work
from wzcheckin.enterprises.models import HealthAlert, VisitorRegistration
from wzcheckin.programme import Programme
from wzcheckin.residence.models import Snapshot, SnapshotKind, SnapshotPhase
from wzcheckin.scanning.models import Scan, ScanClaim

DEFAULT_BATCH = 5_000


class RetentionRefused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class RawRecords:
    """One kind of raw record: its model and the column saying when it was made."""

    name: str
    model: type
    made_at: sa.Column


# In this order: alerts before the visitors they may name (a foreign key).
RAW_RECORDS = (
    RawRecords("scans", Scan, Scan.scanned_at),
    RawRecords("scan_claims", ScanClaim, ScanClaim.scanned_at),  # the scan ids of the scans above
    RawRecords("health_alerts", HealthAlert, HealthAlert.raised_at),
    RawRecords("visitor_registrations", VisitorRegistration, VisitorRegistration.registered_at),
    RawRecords("activity_photos", ActivityPhoto, ActivityPhoto.uploaded_at),
)


def purge_horizon(programme: Programme) -> datetime:
    """Raw records made before this instant may go: the cutoff plus the appeal window."""
    return programme.cutoff + timedelta(days=programme.programme.appeal_window_days)


def check_purge_allowed(session: Session, programme: Programme, now: datetime) -> datetime:
    horizon = purge_horizon(programme)
    if now < horizon:
        raise RetentionRefused("appeal_window_open",
                               f"the appeal window is open until {horizon.isoformat()}; nothing may be purged before")
    official = session.scalar(sa.select(Snapshot.phase).where(Snapshot.kind == SnapshotKind.OFFICIAL,
                                                              Snapshot.as_of == programme.cutoff))
    if official is not SnapshotPhase.COMPLETE:
        raise RetentionRefused("no_official_snapshot",
                               "the official snapshot is not complete: the cutoff still needs the raw evidence")
    return horizon


def count_purgeable(session: Session, horizon: datetime) -> dict[str, int]:
    return {kind.name: session.scalar(sa.select(sa.func.count()).select_from(kind.model)
                                      .where(kind.made_at < horizon))
            for kind in RAW_RECORDS}


def purge_batch(session: Session, kind: RawRecords, horizon: datetime, batch_size: int) -> int:
    """Delete up to ``batch_size`` records of ``kind`` made before ``horizon``; flushes only."""
    key = kind.model.__table__.primary_key.columns.values()[0]
    ids = list(session.scalars(sa.select(key).where(kind.made_at < horizon).order_by(key).limit(batch_size)))
    if not ids:
        return 0
    if kind.model is ActivityPhoto:  # the check-in stays, without its photo
        session.execute(sa.update(ActivityCheckin).where(ActivityCheckin.photo_id.in_(ids)).values(photo_id=None))
    if kind.model is VisitorRegistration:  # an alert naming the visitor goes with it
        session.execute(sa.delete(HealthAlert).where(HealthAlert.visitor_id.in_(ids)))
    return session.execute(sa.delete(kind.model).where(key.in_(ids))).rowcount


def purge_raw_records(session: Session, programme: Programme, now: datetime, *, batch_size: int = DEFAULT_BATCH,
                      progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Outer-layer runner: delete every raw record made before the horizon, a committed batch at
    a time; returns how many of each kind went."""
    say = progress or (lambda _message: None)
    horizon = check_purge_allowed(session, programme, now)
    session.rollback()
    deleted = {}
    for kind in RAW_RECORDS:
        deleted[kind.name] = 0
        while True:
            with unit_of_work(session):
                count = purge_batch(session, kind, horizon, batch_size)
            if not count:
                break
            deleted[kind.name] += count
            say(f"  {kind.name}: {deleted[kind.name]} deleted")
    return deleted
