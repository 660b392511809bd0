"""Residence room: the cutoff run — residence confirmation as of one instant, written as a
snapshot, then the P2 points and the P7 notices (SPEC §3).

:func:`run_snapshot` is an outer-layer runner (the cutoff job, ``wzcheckin cutoff run`` and the
nightly preview call it): it commits one step at a time, each step together with the snapshot's
progress marker, so

* a second run of a complete snapshot changes nothing and reports the same figures;
* a run killed midway (``kill -9``) resumes at the first step not committed, and since every
  step is a pure function of the instant (see ``confirmation.py``), the result is identical to
  a run never interrupted;
* two runs at once (the scheduler and a hand-started command) take turns: each step locks the
  snapshot row first (``SELECT … FOR UPDATE``; on SQLite the write transaction's ``BEGIN
  IMMEDIATE``) and re-reads the marker, so no step is done twice.

Nothing is awarded or sent twice: points are keyed ``p2:<programme>:<worker>`` (UNIQUE in the
ledger) and notices ``p7:<programme>:<enterprise>`` (UNIQUE in the outbox).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.benefits.models import PointsEntry
from wzcheckin.benefits.points import award_points_bulk
from wzcheckin.core.audit import record_audit
from wzcheckin.core.refusals import insert_unique
from wzcheckin.db import unit_of_work
from wzcheckin.programme import Programme
from wzcheckin.residence import reasons
from wzcheckin.residence.confirmation import next_worker_boundary, rules_for, write_headcounts, write_statuses
from wzcheckin.residence.errors import PurgeRefused, ResidenceError
from wzcheckin.residence.models import (
    EnterpriseHeadcount,
    SmsMessage,
    Snapshot,
    SnapshotKind,
    SnapshotPhase,
    WorkerStatus,
)
from wzcheckin.residence.notices import P7_NOTICE, programme_key, queue_p7_notices

STATUS_CHUNK = 50_000   # workers per transaction while writing statuses
AWARD_CHUNK = 20_000    # confirmed workers per transaction while awarding P2 points
P2_REASON = "residence_permit_stay"
P2_SOURCE = "cutoff"


class CutoffError(ResidenceError):
    """The run cannot start (``as_of_in_future``, ``not_the_cutoff``, ``programme_changed``): a
    stable ``code``, its words in the residence messages."""


def p2_award_key_prefix(programme: Programme) -> str:
    return f"p2:{programme_key(programme)}:"


def p2_award_key(programme: Programme, worker_id: int) -> str:
    return f"{p2_award_key_prefix(programme)}{worker_id}"


def snapshot_kind_for(programme: Programme, as_of: datetime) -> SnapshotKind:
    return SnapshotKind.OFFICIAL if as_of == programme.cutoff else SnapshotKind.TRIAL


def run_snapshot(session: Session, programme: Programme, *, as_of: datetime, now: datetime,
                 kind: SnapshotKind | None = None, started_by: str = "cli",
                 progress: Callable[[str], None] | None = None, status_chunk: int = STATUS_CHUNK,
                 award_chunk: int = AWARD_CHUNK) -> dict:
    """Confirm residence as of ``as_of`` (the programme cutoff, unless a trial or preview).

    Official snapshots (as of the programme's cutoff) also award P2 points and queue P7
    notices; trial snapshots (another instant) and previews only count. Returns the summary.
    """
    kind = kind or snapshot_kind_for(programme, as_of)
    say = progress or (lambda _message: None)
    if kind is not SnapshotKind.PREVIEW and as_of > now:
        raise CutoffError("as_of_in_future", as_of=as_of.isoformat(), now=now.isoformat())
    if kind is SnapshotKind.OFFICIAL and as_of != programme.cutoff:
        raise CutoffError("not_the_cutoff")
    rules = rules_for(programme, as_of, kind, known_at=now)
    snapshot_id, created = _begin(session, programme, rules, kind, now, started_by)
    # What the decision knew is fixed when its run began: a resumed run knows the very same.
    started_at = session.scalar(sa.select(Snapshot.started_at).where(Snapshot.id == snapshot_id))
    rules = rules_for(programme, as_of, kind, known_at=started_at)
    this_run = {"statuses_written": 0, "points_awarded": 0, "sms_queued": 0}
    resumed = already_complete = False
    first = True
    while True:
        with unit_of_work(session):
            snapshot = session.get(Snapshot, snapshot_id, with_for_update=True, populate_existing=True)
            phase = snapshot.phase
            if first:
                resumed = not created and phase is not SnapshotPhase.COMPLETE
                already_complete = phase is SnapshotPhase.COMPLETE
                first = False
                if resumed:
                    if _rules_differ(snapshot.parameters, rules.parameters(programme)):
                        raise CutoffError("programme_changed", snapshot=snapshot_id)
                    say(f"snapshot {snapshot_id}: resuming at {phase.value} "
                        f"(after worker {snapshot.progress_worker_id})")
            if phase is SnapshotPhase.COMPLETE:
                summary = dict(snapshot.summary or {})
                break
            if phase is SnapshotPhase.STATUSES:
                _statuses_step(session, programme, rules, snapshot, status_chunk, this_run, say)
            elif phase is SnapshotPhase.HEADCOUNTS:
                _headcounts_step(session, programme, snapshot, say)
            elif phase is SnapshotPhase.AWARDS:
                _awards_step(session, programme, snapshot, award_chunk, now, this_run, say)
            elif phase is SnapshotPhase.NOTICES:
                if snapshot.kind is SnapshotKind.OFFICIAL:
                    this_run["sms_queued"] += queue_p7_notices(session, programme, snapshot.id, now)
                _complete(session, programme, snapshot, now, started_by)
                say(f"snapshot {snapshot_id}: complete")
    summary.update({"snapshot_id": snapshot_id, "resumed": resumed, "already_complete": already_complete,
                    "this_run": this_run})
    return summary


def _rules_differ(stored: dict, current: dict) -> bool:
    ignore = {"programme_file", "known_at"}
    return {k: v for k, v in stored.items() if k not in ignore} != {k: v for k, v in current.items() if k not in ignore}


def _begin(session: Session, programme: Programme, rules, kind: SnapshotKind, now: datetime,
           started_by: str) -> tuple[int, bool]:
    """The snapshot row for (kind, as_of): found, or created. Concurrency: UNIQUE (kind, as_of);
    a racing twin's insert fails in its savepoint and it reads the winner's row."""
    with unit_of_work(session):
        query = sa.select(Snapshot.id).where(Snapshot.kind == kind, Snapshot.as_of == rules.as_of)
        existing = session.scalar(query)
        if existing is not None:
            return existing, False
        snapshot = Snapshot(kind=kind, as_of=rules.as_of, phase=SnapshotPhase.STATUSES, progress_worker_id=0,
                            started_at=now, started_by=started_by, parameters=rules.parameters(programme))
        if not insert_unique(session, snapshot):  # UNIQUE (kind, as_of): a concurrent run made it first
            return session.scalar(query), False
        return snapshot.id, True


def _statuses_step(session, programme, rules, snapshot: Snapshot, chunk: int, this_run: dict, say) -> None:
    after = snapshot.progress_worker_id
    boundary = next_worker_boundary(session, rules.as_of, after, chunk)
    if boundary is None:
        snapshot.phase = SnapshotPhase.HEADCOUNTS
        snapshot.progress_worker_id = 0
        return
    written = write_statuses(session, programme, rules, snapshot.id, after, boundary)
    this_run["statuses_written"] += written
    snapshot.progress_worker_id = boundary
    say(f"snapshot {snapshot.id}: statuses up to worker {boundary} (+{written})")


def _headcounts_step(session, programme, snapshot: Snapshot, say) -> None:
    # Redone whole if a previous attempt died before committing: the delete makes it idempotent.
    session.execute(sa.delete(EnterpriseHeadcount).where(EnterpriseHeadcount.snapshot_id == snapshot.id))
    written = write_headcounts(session, programme, snapshot.id, snapshot.as_of)
    say(f"snapshot {snapshot.id}: {written} enterprise headcounts")
    snapshot.phase = SnapshotPhase.AWARDS if snapshot.kind is SnapshotKind.OFFICIAL else SnapshotPhase.NOTICES
    snapshot.progress_worker_id = 0


def _awards_step(session, programme: Programme, snapshot: Snapshot, chunk: int, now: datetime,
                 this_run: dict, say) -> None:
    """P2 (新居民积分): +N points to confirmed workers whose residence permit is valid at the cutoff,
    a chunk of workers per step through ``benefits.points.award_points_bulk`` (keys
    ``p2:<programme>:<worker>``: a resumed or repeated run awards nobody twice)."""
    amount = programme.points.residence_permit_award
    candidates = sa.and_(WorkerStatus.snapshot_id == snapshot.id, WorkerStatus.confirmed == sa.true(),
                         WorkerStatus.permit_valid == sa.true(), WorkerStatus.worker_id > snapshot.progress_worker_id)
    boundary = None
    if amount > 0:
        ids = sa.select(WorkerStatus.worker_id).where(candidates).order_by(WorkerStatus.worker_id)
        boundary = session.scalar(ids.offset(chunk - 1).limit(1))
        if boundary is None:
            boundary = session.scalar(sa.select(sa.func.max(WorkerStatus.worker_id)).where(candidates))
    if boundary is None:
        snapshot.phase = SnapshotPhase.NOTICES
        snapshot.progress_worker_id = 0
        return
    awarded = award_points_bulk(
        session, sa.select(WorkerStatus.worker_id).where(candidates, WorkerStatus.worker_id <= boundary),
        amount=amount, reason=P2_REASON, source=P2_SOURCE, award_key_prefix=p2_award_key_prefix(programme),
        description=f"{programme.programme.name}: P2", now=now)
    this_run["points_awarded"] += awarded
    snapshot.progress_worker_id = boundary
    say(f"snapshot {snapshot.id}: P2 points up to worker {boundary} (+{awarded})")


def _complete(session, programme: Programme, snapshot: Snapshot, now: datetime, started_by: str) -> None:
    snapshot.summary = snapshot_summary(session, programme, snapshot)
    snapshot.phase = SnapshotPhase.COMPLETE
    snapshot.completed_at = now
    if snapshot.kind is not SnapshotKind.PREVIEW:
        record_audit(session, at=now, action=f"residence.snapshot.{snapshot.kind.value}", actor_role=started_by,
                     target_type="snapshot", target_id=snapshot.id, details=_audit_details(snapshot.summary))


def _audit_details(summary: dict) -> dict:
    return {key: summary[key] for key in ("as_of", "workers", "enterprises", "total_amount_yuan",
                                          "points_awarded", "sms_queued") if key in summary}


def snapshot_summary(session: Session, programme: Programme, snapshot: Snapshot) -> dict:
    """The snapshot's figures, all counted from the database (so a rerun reports the same)."""
    by_reason = dict(session.execute(
        sa.select(WorkerStatus.reason, sa.func.count()).where(WorkerStatus.snapshot_id == snapshot.id)
        .group_by(WorkerStatus.reason)
    ).all())
    retained_codes = set(reasons.RETAINED_REASONS)
    confirmed = sum(count for code, count in by_reason.items() if code in retained_codes)
    by_tier = {str(tier): count for tier, count in session.execute(
        sa.select(EnterpriseHeadcount.tier, sa.func.count()).where(EnterpriseHeadcount.snapshot_id == snapshot.id)
        .group_by(EnterpriseHeadcount.tier).order_by(EnterpriseHeadcount.tier)
    ).all()}
    enterprise_totals = session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(EnterpriseHeadcount.amount_yuan), 0),
                  sa.func.coalesce(sa.func.sum(EnterpriseHeadcount.retained), 0))
        .where(EnterpriseHeadcount.snapshot_id == snapshot.id)
    ).one()
    summary = {
        "kind": snapshot.kind.value,
        "as_of": snapshot.as_of.isoformat(),
        "workers": {
            "total": sum(by_reason.values()),
            "confirmed": confirmed,
            "not_confirmed": {code: by_reason.get(code, 0) for code in reasons.REASON_ORDER},
        },
        "enterprises": {"total": enterprise_totals[0], "retained_on_rosters": int(enterprise_totals[2]),
                        "by_tier": by_tier},
        "total_amount_yuan": int(enterprise_totals[1]),
        "points_awarded": 0,
        "sms_queued": 0,
    }
    if snapshot.kind is SnapshotKind.OFFICIAL:
        summary["points_awarded"] = session.scalar(
            sa.select(sa.func.count()).select_from(PointsEntry)
            .where(PointsEntry.reason == P2_REASON, PointsEntry.source == P2_SOURCE,
                   PointsEntry.award_key.like(p2_award_key_prefix(programme) + "%"))
        )
        summary["sms_queued"] = session.scalar(
            sa.select(sa.func.count()).select_from(SmsMessage)
            .where(SmsMessage.kind == P7_NOTICE, SmsMessage.dedupe_key.like(f"p7:{programme_key(programme)}:%"))
        )
    return summary


def refuse_purge_before_official_snapshot(session: Session, programme: Programme) -> None:
    """``Room(purge_guard=...)``: the raw evidence is what the cutoff reads, so no raw record goes
    before the programme's official snapshot is complete."""
    official = session.scalar(sa.select(Snapshot.phase).where(Snapshot.kind == SnapshotKind.OFFICIAL,
                                                              Snapshot.as_of == programme.cutoff))
    if official is not SnapshotPhase.COMPLETE:
        raise PurgeRefused("no_official_snapshot")
