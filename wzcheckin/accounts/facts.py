"""Accounts room: the effective-dated facts of a worker (``WorkerFacts``) — pledge, hukou,
residence permit, employer and roster — written whenever one of them changes, and the officials'
decision on a hukou to be reviewed.

The ``Worker`` row holds the facts as they are now (pages, eligibility at a scan); the versions
hold them as they were at any instant (the cutoff, corrections). Every domain function that
changes one of the fields below calls :func:`record_worker_facts` in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.errors import AccountError
from wzcheckin.accounts.models import Departure, HukouReview, Worker, WorkerFacts
from wzcheckin.core.facts import supersede
from wzcheckin.programme import HukouStatus


def worker_fact_values(worker: Worker) -> dict:
    return {
        "pledged": worker.pledged_at is not None,
        "hukou_declared": worker.hukou or "",
        "hukou_status": HukouStatus(worker.hukou_status),
        "permit_held": worker.residence_permit_no_encrypted is not None,
        "permit_expiry": worker.residence_permit_expiry if worker.residence_permit_no_encrypted else None,
        "enterprise_id": worker.enterprise_id,
        "employment_confirmed": bool(worker.enterprise_id is not None and worker.employment_confirmed),
    }


def record_worker_facts(session: Session, worker: Worker, *, now: datetime, source: str,
                        recorded_by_user_id: int | None = None) -> bool:
    """A new version of the worker's facts from the row as it is now (none when nothing changed)."""
    session.flush()  # a new worker needs its id
    return supersede(session, WorkerFacts, {"worker_id": worker.id}, worker_fact_values(worker),
                     now=now, source=source, recorded_by_user_id=recorded_by_user_id)


def record_worker_facts_bulk(session: Session, worker_ids: sa.Select, *, now: datetime, source: str) -> int:
    """First versions for workers written in bulk (imports of many rows, test and benchmark
    builders): ``INSERT … SELECT`` from the rows as they are. Only for workers without a version."""
    w = Worker
    has_version = sa.exists().where(WorkerFacts.worker_id == w.id)
    select = sa.select(
        w.id, sa.case((w.pledged_at.is_not(None), True), else_=False), w.hukou, w.hukou_status,
        sa.case((w.residence_permit_no_encrypted.is_not(None), True), else_=False),
        sa.case((w.residence_permit_no_encrypted.is_not(None), w.residence_permit_expiry), else_=None),
        w.enterprise_id,
        sa.case((sa.and_(w.enterprise_id.is_not(None), w.employment_confirmed == sa.true()), True), else_=False),
        sa.literal(now, WorkerFacts.valid_from.type), sa.literal(source),
    ).where(w.id.in_(worker_ids), sa.not_(has_version))
    insert = sa.insert(WorkerFacts).from_select(
        ["worker_id", "pledged", "hukou_declared", "hukou_status", "permit_held", "permit_expiry", "enterprise_id",
         "employment_confirmed", "valid_from", "source"], select)
    return session.execute(insert, execution_options={"preserve_rowcount": True}).rowcount


def reviewed_status(session: Session, worker: Worker, computed: HukouStatus) -> HukouStatus:
    """An official's decision stands for the declaration it was made on: a worker whose
    declaration still disagrees with the ID number keeps the decided status."""
    if computed is not HukouStatus.REVIEW or worker.id is None:
        return computed
    decision = session.scalar(
        sa.select(HukouReview.decision).where(HukouReview.worker_id == worker.id,
                                              HukouReview.hukou_declared == (worker.hukou or ""))
        .order_by(HukouReview.id.desc()).limit(1))
    return HukouStatus(decision) if decision is not None else computed


class HukouReviewError(AccountError):
    """A hukou decision refused: ``decision_invalid``, ``reason_required``, ``reason_too_long``
    (the input, 422) or ``not_under_review`` (the worker's state, 409)."""

    def __init__(self, code: str):
        super().__init__(code, status=409 if code == "not_under_review" else 422)


def decide_hukou_review(session: Session, worker: Worker, *, decision: HukouStatus, reason: str,
                        decided_by_user_id: int | None, now: datetime) -> HukouReview:
    """An official decides a hukou to be reviewed: Wenzhou (``home``) or not (``non_local``),
    always with a reason. The worker's facts get a new version from ``now``: a decision never
    reaches back before it was made (an earlier snapshot changes only through a correction)."""
    if decision not in (HukouStatus.HOME, HukouStatus.NON_LOCAL):
        raise HukouReviewError("decision_invalid")
    reason = (reason or "").strip()
    if not reason:
        raise HukouReviewError("reason_required")
    if len(reason) > 500:
        raise HukouReviewError("reason_too_long")
    if worker.hukou_status is not HukouStatus.REVIEW:
        raise HukouReviewError("not_under_review")
    review = HukouReview(worker_id=worker.id, hukou_declared=worker.hukou or "", decision=decision, reason=reason,
                         decided_by_user_id=decided_by_user_id, decided_at=now)
    session.add(review)
    worker.hukou_status = decision
    worker.updated_at = now
    record_worker_facts(session, worker, now=now, source="hukou_review", recorded_by_user_id=decided_by_user_id)
    return review


def workers_under_review(session: Session, limit: int = 500) -> list[Worker]:
    return list(session.scalars(sa.select(Worker).where(Worker.hukou_status == HukouStatus.REVIEW)
                                .order_by(Worker.id).limit(limit)))


def active_departure(session: Session, worker_id: int) -> Departure | None:
    """离温: the worker's recorded departure, unless withdrawn (recorded by the residence room; the
    data bonus reads it too)."""
    return session.scalar(sa.select(Departure).where(Departure.worker_id == worker_id,
                                                     Departure.withdrawn_at.is_(None)))
