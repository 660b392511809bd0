"""Residence room: appeals (申诉) against the cutoff's decision (SPEC §3 "Appeals and corrections").

A worker who was not confirmed (a missed window through illness or a fever refusal, a hukou to
be reviewed, a departure recorded in error) or an enterprise (its headcount: the workers of its
roster it says should count) appeals with a reason and an optional photo, from the moment the
official snapshot exists until ``[appeals] window_days`` after the cutoff. An official decides
once, with a reason; the person is told on their page and by SMS.

An accepted appeal never edits the snapshot. It writes a fact with the instant it was decided:
a worker's or an enterprise's appeal an override per worker ("count as confirmed retained"), a
hukou appeal the hukou decision (``accounts.facts.decide_hukou_review``: not Wenzhou). The next
correction (``corrections.py``) reads them.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from wzcheckin.accounts.facts import HukouReviewError, decide_hukou_review
from wzcheckin.accounts.models import User, Worker
from wzcheckin.core.audit import record_audit
from wzcheckin.core.refusals import insert_or_refuse
from wzcheckin.core.sms import queue_sms
from wzcheckin.directory.models import Enterprise
from wzcheckin.programme import HukouStatus, Programme
from wzcheckin.residence import reasons
from wzcheckin.residence.corrections import latest_correction
from wzcheckin.residence.errors import ResidenceError
from wzcheckin.residence.models import (
    Appeal,
    AppealKind,
    AppealPhoto,
    AppealStatus,
    Correction,
    CorrectionWorker,
    EnterpriseHeadcount,
    ResidenceOverride,
    Snapshot,
    WorkerStatus,
)
from wzcheckin.residence.notices import programme_key
from wzcheckin.residence.subsidies import official_snapshot

MAX_REASON_LENGTH = 1000
MAX_DECISION_LENGTH = 500
MAX_CLAIMED_WORKERS = 500
APPEAL_DECIDED_NOTICE = "appeal_decided"
# An appeal's photo is served back with the type read from its first bytes, never the browser's.
_PHOTO_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))
PHOTO_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}


def photo_type(data: bytes) -> str | None:
    return next((kind for signature, kind in _PHOTO_SIGNATURES if data.startswith(signature)), None)


# --- reading ----------------------------------------------------------------------------------

def current_outcome(session: Session, snapshot: Snapshot, worker_id: int) -> tuple[bool, str] | None:
    """(confirmed, reason) of the worker in the latest version — the latest correction's row,
    else the official snapshot's; None when the worker is not in the snapshot."""
    correction = latest_correction(session, snapshot.id)
    correction_id = correction.id if correction is not None else None
    if correction_id is not None:
        row = session.get(CorrectionWorker, (correction_id, worker_id))
        if row is not None:
            return row.confirmed, row.reason
    status = session.get(WorkerStatus, (snapshot.id, worker_id))
    return None if status is None else (status.confirmed, status.reason)


def appeals_open(programme: Programme, snapshot: Snapshot | None, now: datetime) -> bool:
    """Appeals are filed once the official snapshot is complete, until the window closes."""
    return snapshot is not None and now < programme.appeals_close


def worker_appeals(session: Session, worker_id: int) -> list[Appeal]:
    return list(session.scalars(sa.select(Appeal).where(Appeal.worker_id == worker_id,
                                                        Appeal.kind != AppealKind.ENTERPRISE)
                                .order_by(Appeal.id.desc())))


def enterprise_appeals(session: Session, enterprise_id: int) -> list[Appeal]:
    return list(session.scalars(sa.select(Appeal).where(Appeal.enterprise_id == enterprise_id,
                                                        Appeal.kind == AppealKind.ENTERPRISE)
                                .order_by(Appeal.id.desc())))


def list_appeals(session: Session, status: AppealStatus | None = None, limit: int = 500) -> list[Appeal]:
    query = sa.select(Appeal)
    if status is not None:
        query = query.where(Appeal.status == status)
    return list(session.scalars(query.order_by(Appeal.id).limit(limit)))


def appeal_json(appeal: Appeal) -> dict:
    """The appeal as the API and ``wzcheckin appeals list`` give it (no personal data)."""
    return {
        "id": appeal.id, "kind": appeal.kind.value, "status": appeal.status.value,
        "worker_id": appeal.worker_id, "enterprise_id": appeal.enterprise_id,
        "appealed_reason": appeal.appealed_reason, "claimed_workers": len(appeal.claimed_worker_ids or []),
        "reason": appeal.reason, "has_photo": appeal.has_photo, "filed_at": appeal.filed_at.isoformat(),
        "decided_at": appeal.decided_at.isoformat() if appeal.decided_at else None,
        "decision_reason": appeal.decision_reason or None,
    }


# --- filing -----------------------------------------------------------------------------------

def _clean(text: str | None, *, limit: int, code: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ResidenceError("appeal_reason_required", field="reason")
    if len(text) > limit:
        raise ResidenceError(code, field="reason")
    return text


def _check_photo(programme: Programme, photo: bytes | None) -> str | None:
    if not photo:
        return None
    if len(photo) > programme.appeals.photo_max_bytes:
        raise ResidenceError("photo_too_large", field="photo", size=programme.appeals.photo_max_bytes // (1024 * 1024))
    content_type = photo_type(photo)
    if content_type is None:
        raise ResidenceError("photo_type", field="photo")
    return content_type


def _open_snapshot(session: Session, programme: Programme, now: datetime) -> Snapshot:
    snapshot = official_snapshot(session, programme)
    if not appeals_open(programme, snapshot, now):
        raise ResidenceError("appeal_window_closed", days=programme.appeals.window_days)
    return snapshot


def _add(session: Session, appeal: Appeal, photo: bytes | None, content_type: str | None) -> Appeal:
    """Insert the appeal (and its photo). Concurrency: the partial UNIQUE indexes (one open
    appeal per worker, per enterprise) decide between two simultaneous filings; the loser's
    savepoint rolls back and it answers ``already_open``."""
    # A partial UNIQUE index: one open appeal per appellant, even for two submissions at once.
    insert_or_refuse(session, ResidenceError("already_open"), appeal, flush=True)
    if photo:
        session.add(AppealPhoto(appeal_id=appeal.id, content_type=content_type, size=len(photo),
                                sha256=hashlib.sha256(photo).hexdigest(), data=photo))
        session.flush()
    return appeal


def file_worker_appeal(session: Session, programme: Programme, *, worker: Worker, reason: str | None,
                       photo: bytes | None = None, actor: User, now: datetime, ip: str | None = None) -> Appeal:
    """The worker appeals their own outcome. Refusals: ``appeal_window_closed``,
    ``nothing_to_appeal`` (confirmed in the latest version, an accepted appeal waiting for the
    next correction, or not in the snapshot), ``already_open``, and field errors."""
    snapshot = _open_snapshot(session, programme, now)
    outcome = current_outcome(session, snapshot, worker.id)
    if outcome is None or outcome[0]:
        raise ResidenceError("nothing_to_appeal")
    if _accepted_since_last_correction(session, snapshot, worker.id):
        raise ResidenceError("nothing_to_appeal")
    if session.scalar(sa.select(Appeal.id).where(Appeal.worker_id == worker.id,
                                                 Appeal.status == AppealStatus.OPEN)) is not None:
        raise ResidenceError("already_open")
    text = _clean(reason, limit=MAX_REASON_LENGTH, code="appeal_reason_too_long")
    content_type = _check_photo(programme, photo)
    kind = AppealKind.HUKOU if outcome[1] == reasons.HUKOU_REVIEW else AppealKind.WORKER
    status = session.get(WorkerStatus, (snapshot.id, worker.id))
    appeal = _add(session, Appeal(
        snapshot_id=snapshot.id, kind=kind, status=AppealStatus.OPEN, worker_id=worker.id,
        enterprise_id=status.enterprise_id if status else None, appealed_reason=outcome[1], claimed_worker_ids=[],
        reason=text, filed_at=now, filed_by_user_id=actor.id, decision_reason="", has_photo=bool(photo),
    ), photo, content_type)
    record_audit(session, at=now, actor=actor, action="residence.appeal.file", target_type="appeal",
                 target_id=appeal.id, details={"kind": kind.value, "appealed_reason": outcome[1],
                                               "photo": bool(photo)}, ip=ip)
    return appeal


def _accepted_since_last_correction(session: Session, snapshot: Snapshot, worker_id: int) -> bool:
    last = session.scalar(sa.select(sa.func.max(Correction.as_of)).where(Correction.snapshot_id == snapshot.id))
    query = sa.select(ResidenceOverride.id).where(ResidenceOverride.snapshot_id == snapshot.id,
                                                  ResidenceOverride.worker_id == worker_id)
    if last is not None:
        query = query.where(ResidenceOverride.decided_at > last)
    return session.scalar(query.limit(1)) is not None


def enterprise_unconfirmed(session: Session, snapshot: Snapshot, enterprise_id: int, limit: int = 1000) -> list:
    """The workers on the enterprise's roster at the cutoff who are not confirmed in the latest
    version: (worker id, name, ID tail, reason), the ones an enterprise appeal may name."""
    correction = latest_correction(session, snapshot.id)
    correction_id = correction.id if correction is not None else None
    corrected = (sa.select(CorrectionWorker.worker_id, CorrectionWorker.confirmed, CorrectionWorker.reason)
                 .where(CorrectionWorker.correction_id == (correction_id or 0)).subquery())
    confirmed = sa.func.coalesce(corrected.c.confirmed, WorkerStatus.confirmed)
    reason = sa.func.coalesce(corrected.c.reason, WorkerStatus.reason)
    return session.execute(
        sa.select(WorkerStatus.worker_id, Worker.name, Worker.id_number_tail, reason)
        .join(Worker, Worker.id == WorkerStatus.worker_id)
        .outerjoin(corrected, corrected.c.worker_id == WorkerStatus.worker_id)
        .where(WorkerStatus.snapshot_id == snapshot.id, WorkerStatus.enterprise_id == enterprise_id,
               WorkerStatus.on_roster == sa.true(), confirmed == sa.false())
        .order_by(WorkerStatus.worker_id).limit(limit)
    ).all()


def file_enterprise_appeal(session: Session, programme: Programme, *, enterprise: Enterprise,
                           worker_ids: list[int], reason: str | None, photo: bytes | None = None, actor: User,
                           now: datetime, ip: str | None = None) -> Appeal:
    """The enterprise appeals its headcount, naming the workers of its roster (at the cutoff,
    not confirmed now) it says should count. Refusals as for a worker's appeal, and
    ``appeal_workers_required``, ``not_on_roster``."""
    snapshot = _open_snapshot(session, programme, now)
    if session.get(EnterpriseHeadcount, (snapshot.id, enterprise.id)) is None:
        raise ResidenceError("nothing_to_appeal")
    if session.scalar(sa.select(Appeal.id).where(Appeal.enterprise_id == enterprise.id,
                                                 Appeal.kind == AppealKind.ENTERPRISE,
                                                 Appeal.status == AppealStatus.OPEN)) is not None:
        raise ResidenceError("already_open")
    wanted = sorted({int(worker_id) for worker_id in worker_ids})
    if not wanted:
        raise ResidenceError("appeal_workers_required", field="workers")
    if len(wanted) > MAX_CLAIMED_WORKERS:
        raise ResidenceError("appeal_workers_too_many", field="workers")
    allowed = {row[0] for row in enterprise_unconfirmed(session, snapshot, enterprise.id, limit=100_000)}
    if not set(wanted) <= allowed:
        raise ResidenceError("not_on_roster", field="workers")
    text = _clean(reason, limit=MAX_REASON_LENGTH, code="appeal_reason_too_long")
    content_type = _check_photo(programme, photo)
    headcount = session.get(EnterpriseHeadcount, (snapshot.id, enterprise.id))
    appeal = _add(session, Appeal(
        snapshot_id=snapshot.id, kind=AppealKind.ENTERPRISE, status=AppealStatus.OPEN, worker_id=None,
        enterprise_id=enterprise.id, appealed_reason="headcount", claimed_worker_ids=wanted, reason=text,
        filed_at=now, filed_by_user_id=actor.id, decision_reason="", has_photo=bool(photo),
    ), photo, content_type)
    record_audit(session, at=now, actor=actor, action="residence.appeal.file", target_type="appeal",
                 target_id=appeal.id, details={"kind": "enterprise", "retained": headcount.retained,
                                               "claimed_workers": len(wanted), "photo": bool(photo)}, ip=ip)
    return appeal


# --- deciding ---------------------------------------------------------------------------------

def decide_appeal(session: Session, programme: Programme, *, appeal: Appeal, accept: bool, reason: str | None,
                  now: datetime, actor: User | None = None, actor_role: str | None = None,
                  ip: str | None = None) -> Appeal:
    """An official accepts or rejects an open appeal, always with a reason. Accepting writes the
    decided facts (overrides, or the hukou decision) for the next correction; the appellant is
    told by SMS (and on their page).

    Concurrency: a conditional UPDATE on ``status = 'open'``, so of two officials deciding at
    once only one changes the row; the other is told ``already_decided``.
    """
    text = (reason or "").strip()
    if not text:
        raise ResidenceError("decision_reason_required", field="reason")
    if len(text) > MAX_DECISION_LENGTH:
        raise ResidenceError("reason_too_long", field="reason")
    status = AppealStatus.ACCEPTED if accept else AppealStatus.REJECTED
    actor_id = getattr(actor, "id", None)
    changed = session.execute(
        sa.update(Appeal).where(Appeal.id == appeal.id, Appeal.status == AppealStatus.OPEN)
        .values(status=status, decided_at=now, decided_by_user_id=actor_id, decision_reason=text)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise ResidenceError("already_decided")
    session.refresh(appeal)
    if accept:
        _apply_acceptance(session, appeal, text, now, actor_id)
    record_audit(session, at=now, actor=actor, actor_role=actor_role, action=f"residence.appeal.{status.value}",
                 target_type="appeal", target_id=appeal.id,
                 details={"kind": appeal.kind.value, "reason": text}, ip=ip)
    _notify(session, programme, appeal, now)
    return appeal


def _apply_acceptance(session: Session, appeal: Appeal, reason: str, now: datetime, actor_id: int | None) -> None:
    if appeal.kind is AppealKind.HUKOU:
        # A hukou decided meanwhile by ``wzcheckin hukou decide``: the facts' partial UNIQUE index
        # (one open version per worker) makes the second writer's transaction fail whole.
        worker = session.get(Worker, appeal.worker_id, populate_existing=True)
        if worker.hukou_status is HukouStatus.HOME:
            raise ResidenceError("hukou_decided_home")
        if worker.hukou_status is HukouStatus.REVIEW:
            try:
                decide_hukou_review(session, worker, decision=HukouStatus.NON_LOCAL, reason=reason,
                                    decided_by_user_id=actor_id, now=now)
            except HukouReviewError as exc:  # pragma: no cover - the reason was checked above
                raise ResidenceError(exc.code) from None
        return
    worker_ids = [appeal.worker_id] if appeal.kind is AppealKind.WORKER else list(appeal.claimed_worker_ids)
    session.add_all([ResidenceOverride(snapshot_id=appeal.snapshot_id, worker_id=worker_id, confirmed=True,
                                       reason=reason, appeal_id=appeal.id, decided_at=now,
                                       decided_by_user_id=actor_id) for worker_id in worker_ids])
    session.flush()


def appeal_decided_body(programme: Programme, appeal: Appeal, locale: str) -> str:
    with force_locale(locale):
        if appeal.status is AppealStatus.ACCEPTED:
            return _("[Stay in Wenzhou] Your appeal no. %(id)d was accepted: %(reason)s. The figures change "
                     "with the next correction. Hotline 0577-%(hotline)s",
                     id=appeal.id, reason=appeal.decision_reason, hotline=programme.programme.hotline)
        return _("[Stay in Wenzhou] Your appeal no. %(id)d was rejected: %(reason)s. Hotline 0577-%(hotline)s",
                 id=appeal.id, reason=appeal.decision_reason, hotline=programme.programme.hotline)


def _notify(session: Session, programme: Programme, appeal: Appeal, now: datetime) -> None:
    """The appellant is told by SMS: the worker, or the enterprise's admin phone (UNIQUE dedupe
    key per appeal, so a decision is told once)."""
    key = f"appeal:{programme_key(programme)}:{appeal.id}"
    if appeal.kind is AppealKind.ENTERPRISE:
        enterprise = session.get(Enterprise, appeal.enterprise_id)
        queue_sms(session, dedupe_key=key, kind=APPEAL_DECIDED_NOTICE, now=now,
                  body=appeal_decided_body(programme, appeal, "zh_CN"),
                  recipient_encrypted=enterprise.admin_phone_encrypted,
                  recipient_masked=enterprise.admin_phone_masked, enterprise_id=enterprise.id)
        return
    worker = session.get(Worker, appeal.worker_id)
    user = worker.user
    queue_sms(session, dedupe_key=key, kind=APPEAL_DECIDED_NOTICE, now=now,
              body=appeal_decided_body(programme, appeal, "en" if user.language == "en" else "zh_CN"),
              recipient_encrypted=user.phone_encrypted, recipient_masked=user.phone_masked, worker_id=worker.id)
