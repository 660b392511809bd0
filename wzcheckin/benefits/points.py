"""Benefits room: the points ledger's domain functions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.benefits.models import PointsEntry
from wzcheckin.db import is_unique_violation


def award_points(session: Session, *, worker_id: int, amount: int, reason: str, source: str, award_key: str,
                 now: datetime, description: str = "", created_by=None) -> PointsEntry | None:
    """Add an entry unless ``award_key`` was awarded before; returns None for a repeat.

    Concurrency: the UNIQUE award_key decides. The insert runs in a savepoint so a concurrent
    twin's violation (PostgreSQL waits for the first to commit, then refuses) only undoes the
    savepoint, not the caller's transaction.
    """
    if session.scalar(sa.select(PointsEntry.id).where(PointsEntry.award_key == award_key)) is not None:
        return None
    entry = PointsEntry(worker_id=worker_id, amount=amount, reason=reason, source=source, award_key=award_key,
                        description=description, created_at=now,
                        created_by_user_id=getattr(created_by, "id", None))
    try:
        with session.begin_nested():
            session.add(entry)
    except sa.exc.IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        return None
    return entry


def points_balance(session: Session, worker_id: int) -> int:
    return session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(PointsEntry.amount), 0)).where(PointsEntry.worker_id == worker_id)
    )


def points_history(session: Session, worker_id: int) -> list[PointsEntry]:
    query = sa.select(PointsEntry).where(PointsEntry.worker_id == worker_id)
    return list(session.scalars(query.order_by(PointsEntry.created_at, PointsEntry.id)))
