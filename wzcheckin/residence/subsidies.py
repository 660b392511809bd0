"""Residence room: P7 留温补助 applications. A qualifying private enterprise applies online
from the official snapshot's figures; an official approves or rejects with a reason, then marks
the payout paid. applied → approved | rejected; approved → paid. Every step is audited."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.models import User
from wzcheckin.core.audit import record_audit
from wzcheckin.core.refusals import insert_or_refuse
from wzcheckin.directory.models import Enterprise
from wzcheckin.programme import Programme
from wzcheckin.residence.decisions import clean_reason, record_decision
from wzcheckin.residence.errors import ResidenceError
from wzcheckin.residence.models import (
    ApplicationStatus,
    Correction,
    CorrectionHeadcount,
    EnterpriseHeadcount,
    Snapshot,
    SnapshotKind,
    SnapshotPhase,
    SubsidyApplication,
)


def official_snapshot(session: Session, programme: Programme, *, complete_only: bool = True) -> Snapshot | None:
    """The snapshot as of the programme's cutoff (the one money depends on), if it exists."""
    query = sa.select(Snapshot).where(Snapshot.kind == SnapshotKind.OFFICIAL, Snapshot.as_of == programme.cutoff)
    if complete_only:
        query = query.where(Snapshot.phase == SnapshotPhase.COMPLETE)
    return session.scalar(query)


def headcount_of(session: Session, snapshot: Snapshot, enterprise_id: int) -> EnterpriseHeadcount | None:
    return session.get(EnterpriseHeadcount, (snapshot.id, enterprise_id))


def current_figures(session: Session, snapshot: Snapshot, enterprise_id: int):
    """The enterprise's figures in the latest version: the latest correction's row (with
    ``retained_before``…) once there is one, else the snapshot's."""
    correction_id = session.scalar(sa.select(Correction.id).where(Correction.snapshot_id == snapshot.id)
                                   .order_by(Correction.version.desc()).limit(1))
    if correction_id is not None:
        row = session.get(CorrectionHeadcount, (correction_id, enterprise_id))
        if row is not None:
            return row
    return headcount_of(session, snapshot, enterprise_id)


def corrected_figures(session: Session, snapshot: Snapshot, enterprise_ids: list[int]) -> dict:
    """{enterprise id: (version, CorrectionHeadcount)} of the latest correction, for the
    enterprises whose figures differ there from the snapshot's (shown beside their applications)."""
    correction = session.scalar(sa.select(Correction).where(Correction.snapshot_id == snapshot.id)
                                .order_by(Correction.version.desc()).limit(1))
    if correction is None or not enterprise_ids:
        return {}
    rows = session.scalars(sa.select(CorrectionHeadcount).where(CorrectionHeadcount.correction_id == correction.id,
                                                                CorrectionHeadcount.enterprise_id.in_(enterprise_ids)))
    official = {enterprise_id: (retained, amount) for enterprise_id, retained, amount in session.execute(
        sa.select(EnterpriseHeadcount.enterprise_id, EnterpriseHeadcount.retained, EnterpriseHeadcount.amount_yuan)
        .where(EnterpriseHeadcount.snapshot_id == snapshot.id, EnterpriseHeadcount.enterprise_id.in_(enterprise_ids)))}
    return {row.enterprise_id: (correction.version, row) for row in rows
            if (row.retained, row.amount_yuan) != official.get(row.enterprise_id)}


def application_of(session: Session, snapshot: Snapshot, enterprise_id: int) -> SubsidyApplication | None:
    return session.scalar(sa.select(SubsidyApplication).where(SubsidyApplication.snapshot_id == snapshot.id,
                                                              SubsidyApplication.enterprise_id == enterprise_id))


def apply_for_subsidy(session: Session, programme: Programme, *, enterprise: Enterprise, actor: User,
                      now: datetime, ip: str | None = None) -> SubsidyApplication:
    """Apply with the official snapshot's figures (never figures typed in by the applicant) — the
    latest correction's, once there is one (an enterprise lifted to a tier by a correction applies).

    Concurrency: UNIQUE (snapshot, enterprise); a double submit's second insert fails in its
    savepoint and answers ``already_applied``.
    """
    snapshot = official_snapshot(session, programme)
    if snapshot is None:
        raise ResidenceError("no_snapshot")
    figures = current_figures(session, snapshot, enterprise.id)
    if figures is None or figures.amount_yuan <= 0:
        raise ResidenceError("not_qualified")
    if application_of(session, snapshot, enterprise.id) is not None:
        raise ResidenceError("already_applied")
    application = SubsidyApplication(
        snapshot_id=snapshot.id, enterprise_id=enterprise.id, retained=figures.retained, tier=figures.tier,
        amount_yuan=figures.amount_yuan, status=ApplicationStatus.APPLIED, applied_at=now,
        applied_by_user_id=actor.id,
    )
    # UNIQUE (snapshot, enterprise): one application, even when two admins apply at once.
    insert_or_refuse(session, ResidenceError("already_applied"), application)
    record_audit(session, at=now, actor=actor, action="residence.subsidy.apply", target_type="subsidy_application",
                 target_id=application.id, details={"enterprise": enterprise.credit_code,
                                                    "retained": figures.retained, "amount_yuan": figures.amount_yuan},
                 ip=ip)
    return application


def decide_application(session: Session, *, application: SubsidyApplication, approve: bool, reason: str | None,
                       actor: User, now: datetime, ip: str | None = None) -> SubsidyApplication:
    """Approve or reject (a rejection needs a reason). Concurrency: a conditional UPDATE on the
    status, so two officials deciding at once cannot both win (``decisions.record_decision``)."""
    reason = clean_reason(reason, required=not approve)
    status = ApplicationStatus.APPROVED if approve else ApplicationStatus.REJECTED
    record_decision(session, application, status, pending=ApplicationStatus.APPLIED, reason=reason, actor=actor,
                    now=now, audit_action=f"residence.subsidy.{status.value}", target_type="subsidy_application", ip=ip)
    return application


def mark_paid(session: Session, *, application: SubsidyApplication, reference: str | None, actor: User,
              now: datetime, ip: str | None = None) -> SubsidyApplication:
    reference = (reference or "").strip()[:100]
    changed = session.execute(
        sa.update(SubsidyApplication)
        .where(SubsidyApplication.id == application.id, SubsidyApplication.status == ApplicationStatus.APPROVED)
        .values(status=ApplicationStatus.PAID, paid_at=now, paid_by_user_id=actor.id, payment_reference=reference)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise ResidenceError("not_approved")
    session.refresh(application)
    record_audit(session, at=now, actor=actor, action="residence.subsidy.paid", target_type="subsidy_application",
                 target_id=application.id, details={"reference": reference, "amount_yuan": application.amount_yuan},
                 ip=ip)
    return application
