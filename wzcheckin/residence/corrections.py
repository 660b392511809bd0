"""Residence room: corrections (更正) of the official snapshot (SPEC §3 "Appeals and corrections").

The official snapshot never changes. What is decided or found after it — accepted appeals
(``residence_overrides``), hukou reviews decided after the cutoff, departures recorded after the
cutoff that happened before it ("found later") — makes a **correction**: version 1, 2, … of
the per-worker outcomes and per-enterprise headcounts, as of the instant it is made, with its
difference from the version before (who changed, from what to what, and why).

The rules, for a worker in the snapshot, as of the correction's instant:

* a hukou to be reviewed that an official has since decided is read as decided: Wenzhou → not
  counted; not Wenzhou → the snapshot's other rules (departure, evidence in every window) decide;
* then the latest of an accepted appeal (counted as confirmed) and a departure found later
  (not counted) decides — whichever was decided or recorded last;
* everything else is as the snapshot decided; roster, employer and residence permit are the
  snapshot's (facts as of the cutoff).

A correction is written whole in one transaction by :func:`correct` (it touches few rows): the
version, the workers whose outcome differs from the snapshot's, every enterprise's headcount,
P2 points through the ledger (an award or a reversal entry, each keyed per worker and version,
never a deletion), and notices only to the workers and enterprises whose outcome changed. With
nothing new decided it writes nothing (idempotent); a run that dies rolls back whole, and the
next run starts afresh (resumable).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from wzcheckin.accounts.models import HukouReview, User, Worker
from wzcheckin.benefits.models import PointsEntry
from wzcheckin.benefits.points import award_points
from wzcheckin.core.audit import record_audit
from wzcheckin.core.sms import queue_sms
from wzcheckin.directory.models import Enterprise
from wzcheckin.programme import HukouStatus, Programme
from wzcheckin.residence import reasons
from wzcheckin.residence.cutoff import P2_REASON, p2_award_key
from wzcheckin.residence.departures import MAX_NOTE_LENGTH, insert_departure
from wzcheckin.residence.errors import ResidenceError
from wzcheckin.residence.models import (
    Correction,
    CorrectionHeadcount,
    CorrectionWorker,
    Departure,
    EnterpriseHeadcount,
    ResidenceOverride,
    Snapshot,
    WorkerStatus,
)
from wzcheckin.residence.notices import programme_key
from wzcheckin.residence.subsidies import official_snapshot

P2_REVERSAL_REASON = "residence_permit_stay_reversal"
P2_SOURCE = "correction"
WORKER_NOTICE = "correction_worker"
ENTERPRISE_NOTICE = "correction_enterprise"

APPEAL_ACCEPTED = "appeal_accepted"
HUKOU_DECIDED = "hukou_decided"
DEPARTURE_FOUND = "departure_found"
AS_SNAPSHOT = "snapshot"


@dataclass(frozen=True)
class Outcome:
    confirmed: bool
    reason: str
    cause: str
    cause_id: int | None


def latest_correction(session: Session, snapshot_id: int) -> Correction | None:
    return session.scalar(sa.select(Correction).where(Correction.snapshot_id == snapshot_id)
                          .order_by(Correction.version.desc()).limit(1))


def corrections_of(session: Session, snapshot_id: int) -> list[Correction]:
    return list(session.scalars(sa.select(Correction).where(Correction.snapshot_id == snapshot_id)
                                .order_by(Correction.version.desc())))


# --- the rules ----------------------------------------------------------------------------------

def outcome_of(status: WorkerStatus, *, hukou: HukouReview | None, override: ResidenceOverride | None,
               departure: Departure | None) -> Outcome:
    """One worker's outcome in a correction, from the snapshot's status and what was decided or
    found since (each argument the latest of its kind known at the correction's instant)."""
    outcome = Outcome(status.confirmed, status.reason, AS_SNAPSHOT, None)
    if hukou is not None and status.reason == reasons.HUKOU_REVIEW:
        if hukou.decision is HukouStatus.HOME:
            outcome = Outcome(False, reasons.WENZHOU_HUKOU, HUKOU_DECIDED, hukou.id)
        elif status.departed_on is not None:
            outcome = Outcome(False, reasons.DEPARTED, HUKOU_DECIDED, hukou.id)
        elif status.windows_missed:
            outcome = Outcome(False, reasons.MISSING_EVIDENCE, HUKOU_DECIDED, hukou.id)
        else:
            outcome = Outcome(True, reasons.CONFIRMED, HUKOU_DECIDED, hukou.id)
    # The later of an accepted appeal and a departure found later decides.
    override_at = override.decided_at if override is not None else None
    departure_at = departure.recorded_at if departure is not None else None
    if override_at is not None and (departure_at is None or override_at > departure_at):
        outcome = Outcome(override.confirmed, APPEAL_ACCEPTED if override.confirmed else reasons.DEPARTED,
                          APPEAL_ACCEPTED, override.appeal_id)
    elif departure_at is not None:
        outcome = Outcome(False, reasons.DEPARTED, DEPARTURE_FOUND, departure.id)
    return outcome


def _latest_by_worker(rows) -> dict:
    """{worker_id: row} keeping the last row per worker of rows ordered oldest first."""
    latest = {}
    for row in rows:
        latest[row.worker_id] = row
    return latest


def _decided_since(session: Session, programme: Programme, snapshot: Snapshot, now: datetime):
    """What was decided or found after the snapshot, up to ``now``: the latest override, hukou
    decision and departure found later, per worker."""
    overrides = _latest_by_worker(session.scalars(
        sa.select(ResidenceOverride).where(ResidenceOverride.snapshot_id == snapshot.id,
                                           ResidenceOverride.decided_at <= now)
        .order_by(ResidenceOverride.decided_at, ResidenceOverride.id)))
    under_review = sa.select(WorkerStatus.worker_id).where(WorkerStatus.snapshot_id == snapshot.id,
                                                           WorkerStatus.reason == reasons.HUKOU_REVIEW)
    hukou = _latest_by_worker(session.scalars(
        sa.select(HukouReview).where(HukouReview.worker_id.in_(under_review),
                                     HukouReview.decided_at >= snapshot.as_of, HukouReview.decided_at <= now)
        .order_by(HukouReview.decided_at, HukouReview.id)))
    # Found later: recorded after the snapshot's instant (it read departures recorded up to it),
    # still standing now, on a day before the cutoff.
    departures = _latest_by_worker(session.scalars(
        sa.select(Departure).where(Departure.recorded_at > snapshot.as_of, Departure.recorded_at <= now,
                                   sa.or_(Departure.withdrawn_at.is_(None), Departure.withdrawn_at > now),
                                   Departure.departed_on <= programme.cutoff_day)
        .order_by(Departure.recorded_at, Departure.id)))
    return overrides, hukou, departures


# --- the run --------------------------------------------------------------------------------------

def correct(session: Session, programme: Programme, *, now: datetime, created_by: str = "cli",
            actor: User | None = None, ip: str | None = None) -> dict:
    """Apply what was decided or found since the last version as a new numbered correction;
    returns ``{"version", "created", "changes": [...], "enterprises": [...], ...}``. With nothing
    new, nothing is written and the latest version is reported (``created`` false).

    Concurrency: the official snapshot's row is locked first (``SELECT … FOR UPDATE``; on
    SQLite the write transaction's ``BEGIN IMMEDIATE``), so two runs at once take turns and the
    second finds nothing new; UNIQUE (snapshot, version) is the guard behind it.
    """
    snapshot = official_snapshot(session, programme)
    if snapshot is None:
        raise ResidenceError("no_snapshot")
    session.get(Snapshot, snapshot.id, with_for_update=True, populate_existing=True)
    previous = latest_correction(session, snapshot.id)
    overrides, hukou, departures = _decided_since(session, programme, snapshot, now)
    before_rows = {} if previous is None else {row.worker_id: row for row in session.scalars(
        sa.select(CorrectionWorker).where(CorrectionWorker.correction_id == previous.id))}
    touched = set(overrides) | set(hukou) | set(departures) | set(before_rows)
    statuses = {row.worker_id: row for row in session.scalars(
        sa.select(WorkerStatus).where(WorkerStatus.snapshot_id == snapshot.id,
                                      WorkerStatus.worker_id.in_(sorted(touched))))} if touched else {}
    outcomes: dict[int, tuple[WorkerStatus, Outcome, bool, str]] = {}
    for worker_id, status in sorted(statuses.items()):
        outcome = outcome_of(status, hukou=hukou.get(worker_id), override=overrides.get(worker_id),
                             departure=departures.get(worker_id))
        prior = before_rows.get(worker_id)
        before_confirmed, before_reason = (prior.confirmed, prior.reason) if prior else (status.confirmed,
                                                                                         status.reason)
        outcomes[worker_id] = (status, outcome, before_confirmed, before_reason)
    changed = {worker_id for worker_id, (_s, outcome, confirmed, reason) in outcomes.items()
               if (outcome.confirmed, outcome.reason) != (confirmed, reason)}
    if not changed:
        summary = dict(previous.summary) if previous is not None else {"version": None, "changes": []}
        summary.update({"created": False, "snapshot_id": snapshot.id})
        return summary

    version = (previous.version if previous else 0) + 1
    correction = Correction(snapshot_id=snapshot.id, version=version, as_of=now, created_at=now,
                            created_by=created_by, created_by_user_id=getattr(actor, "id", None), summary={})
    session.add(correction)
    session.flush()
    session.add_all([
        CorrectionWorker(correction_id=correction.id, worker_id=worker_id, enterprise_id=status.enterprise_id,
                         on_roster=status.on_roster, confirmed=outcome.confirmed, reason=outcome.reason,
                         confirmed_before=before_confirmed, reason_before=before_reason,
                         changed=worker_id in changed, cause=outcome.cause, cause_id=outcome.cause_id)
        for worker_id, (status, outcome, before_confirmed, before_reason) in outcomes.items()
    ])
    deltas: dict[int, int] = {}
    for worker_id in changed:
        status, outcome, before_confirmed, _reason = outcomes[worker_id]
        if status.on_roster and status.enterprise_id is not None and outcome.confirmed != before_confirmed:
            deltas[status.enterprise_id] = deltas.get(status.enterprise_id, 0) + (1 if outcome.confirmed else -1)
    enterprises = _write_headcounts(session, programme, snapshot, previous, correction, deltas)
    points = _move_points(session, programme, version, outcomes, changed, now)
    sms = _queue_notices(session, programme, version, outcomes, changed, enterprises, now)
    changes = [{
        "worker_id": worker_id, "enterprise_id": outcomes[worker_id][0].enterprise_id,
        "before": {"confirmed": outcomes[worker_id][2], "reason": outcomes[worker_id][3]},
        "after": {"confirmed": outcomes[worker_id][1].confirmed, "reason": outcomes[worker_id][1].reason},
        "cause": outcomes[worker_id][1].cause, "cause_id": outcomes[worker_id][1].cause_id,
    } for worker_id in sorted(changed)]
    total = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(CorrectionHeadcount.amount_yuan), 0))
                           .where(CorrectionHeadcount.correction_id == correction.id))
    correction.summary = {
        "version": version, "as_of": now.isoformat(), "snapshot_id": snapshot.id, "changes": changes,
        "enterprises": enterprises, "total_amount_yuan": int(total), "points": points, "sms_queued": sms,
    }
    session.flush()
    record_audit(session, at=now, actor=actor, actor_role=None if actor is not None else created_by,
                 action="residence.correction", target_type="correction", target_id=correction.id,
                 details={"version": version, "changes": len(changes), "enterprises": len(enterprises),
                          "total_amount_yuan": int(total)}, ip=ip)
    return {**correction.summary, "created": True}


def _write_headcounts(session: Session, programme: Programme, snapshot: Snapshot, previous: Correction | None,
                      correction: Correction, deltas: dict[int, int]) -> list[dict]:
    """Every enterprise's figures in the new version: the previous version's copied (one
    ``INSERT … SELECT``), then the few whose retained count moved re-tiered. Returns those."""
    if previous is None:
        source = EnterpriseHeadcount
        where = EnterpriseHeadcount.snapshot_id == snapshot.id
    else:
        source = CorrectionHeadcount
        where = CorrectionHeadcount.correction_id == previous.id
    columns = ["enterprise_id", "credit_code", "name", "district", "ownership", "industrial", "roster"]
    select = sa.select(sa.literal(correction.id, sa.Integer), *[getattr(source, c) for c in columns],
                       source.retained, source.tier, source.amount_yuan,
                       source.retained, source.tier, source.amount_yuan).where(where)
    session.execute(sa.insert(CorrectionHeadcount).from_select(
        ["correction_id", *columns, "retained", "tier", "amount_yuan", "retained_before", "tier_before",
         "amount_yuan_before"], select))
    moved = []
    for enterprise_id in sorted(deltas):
        row = session.get(CorrectionHeadcount, (correction.id, enterprise_id))
        if row is None or deltas[enterprise_id] == 0:
            continue
        row.retained = max(0, row.retained + deltas[enterprise_id])
        row.tier, row.amount_yuan = programme.subsidy_for(row.ownership, row.retained)
        moved.append({"enterprise_id": enterprise_id, "credit_code": row.credit_code,
                      "retained_before": row.retained_before, "retained": row.retained,
                      "tier_before": row.tier_before, "tier": row.tier,
                      "amount_yuan_before": row.amount_yuan_before, "amount_yuan": row.amount_yuan})
    session.flush()
    return moved


def _move_points(session: Session, programme: Programme, version: int, outcomes: dict, changed: set[int],
                 now: datetime) -> dict:
    """P2 follows the outcome: a worker now confirmed with a permit valid at the cutoff holds the
    award, anyone else holds none. The difference from what the ledger holds for the worker's
    P2 keys is written as one entry (an award, or a reversal with a negative amount) keyed
    ``p2:<programme>:<worker>:c<version>`` (UNIQUE): never a deletion, never twice."""
    amount = programme.points.residence_permit_award
    awarded = reversed_ = 0
    for worker_id in sorted(changed):
        status, outcome, _before, _reason = outcomes[worker_id]
        target = amount if outcome.confirmed and status.permit_valid else 0
        key = p2_award_key(programme, worker_id)  # the cutoff's key; corrections add ":c<version>"
        held = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(PointsEntry.amount), 0)).where(
            PointsEntry.worker_id == worker_id,
            sa.or_(PointsEntry.award_key == key, PointsEntry.award_key.like(f"{key}:%"))))
        difference = target - int(held)
        if difference == 0:
            continue
        entry = award_points(
            session, worker_id=worker_id, amount=difference,
            reason=P2_REASON if difference > 0 else P2_REVERSAL_REASON, source=P2_SOURCE,
            award_key=f"{key}:c{version}", now=now,
            description=f"{programme.programme.name}: P2, correction {version}")
        if entry is not None:
            if difference > 0:
                awarded += 1
            else:
                reversed_ += 1
    return {"awarded": awarded, "reversed": reversed_}


def worker_notice_body(programme: Programme, confirmed: bool, version: int, locale: str) -> str:
    with force_locale(locale):
        if confirmed:
            return _("[Stay in Wenzhou] Correction %(version)d: you are now confirmed as having stayed in "
                     "Wenzhou. Hotline 0577-%(hotline)s", version=version, hotline=programme.programme.hotline)
        return _("[Stay in Wenzhou] Correction %(version)d: you are no longer confirmed as having stayed in "
                 "Wenzhou; see your page for the reason. Hotline 0577-%(hotline)s",
                 version=version, hotline=programme.programme.hotline)


def enterprise_notice_body(programme: Programme, *, name: str, version: int, retained: int, amount_yuan: int,
                           amount_before: int) -> str:
    amount, before = f"{amount_yuan:,}", f"{amount_before:,}"
    with force_locale("zh_CN"):
        return _("[Stay in Wenzhou] %(name)s: correction %(version)d counts %(retained)d retained workers; the "
                 "retention subsidy is now %(amount)s yuan (was %(before)s). Log in for details. Hotline "
                 "0577-%(hotline)s", name=name, version=version, retained=retained, amount=amount, before=before,
                 hotline=programme.programme.hotline)


def _queue_notices(session: Session, programme: Programme, version: int, outcomes: dict, changed: set[int],
                   enterprises: list[dict], now: datetime) -> int:
    """Only those whose outcome changed: workers whose confirmation flipped, enterprises whose
    subsidy amount moved. UNIQUE dedupe keys per version."""
    queued = 0
    prefix = f"corr:{programme_key(programme)}:v{version}"
    for worker_id in sorted(changed):
        _status, outcome, before_confirmed, _reason = outcomes[worker_id]
        if outcome.confirmed == before_confirmed:
            continue
        worker = session.get(Worker, worker_id)
        user = worker.user
        body = worker_notice_body(programme, outcome.confirmed, version, "en" if user.language == "en" else "zh_CN")
        if queue_sms(session, dedupe_key=f"{prefix}:w{worker_id}", kind=WORKER_NOTICE, body=body, now=now,
                     recipient_encrypted=user.phone_encrypted, recipient_masked=user.phone_masked,
                     worker_id=worker_id) is not None:
            queued += 1
    for moved in enterprises:
        if moved["amount_yuan"] == moved["amount_yuan_before"]:
            continue
        enterprise = session.get(Enterprise, moved["enterprise_id"])
        body = enterprise_notice_body(programme, name=enterprise.name, version=version, retained=moved["retained"],
                                      amount_yuan=moved["amount_yuan"], amount_before=moved["amount_yuan_before"])
        if queue_sms(session, dedupe_key=f"{prefix}:e{enterprise.id}", kind=ENTERPRISE_NOTICE, body=body, now=now,
                     recipient_encrypted=enterprise.admin_phone_encrypted,
                     recipient_masked=enterprise.admin_phone_masked, enterprise_id=enterprise.id) is not None:
            queued += 1
    return queued


# --- departures found later ----------------------------------------------------------------------

def record_found_departure(session: Session, programme: Programme, *, worker: Worker, departed_on, note: str,
                           now: datetime, actor: User, ip: str | None = None) -> Departure:
    """An official records, after the cutoff, a departure found later (it happened before the
    cutoff): the snapshot stays as it is; the next correction takes the worker out.

    Concurrency: the partial UNIQUE index (one active departure per worker) decides, as for
    ``departures.record_departure``.
    """
    if now < programme.cutoff:
        raise ResidenceError("not_after_cutoff")
    if departed_on is None:
        raise ResidenceError("date_required", field="departed_on")
    if departed_on > programme.cutoff_day:
        raise ResidenceError("departure_after_cutoff", field="departed_on")
    if departed_on < programme.programme.starts:
        raise ResidenceError("departure_before_programme", field="departed_on")
    note = (note or "").strip()
    if not note:
        raise ResidenceError("note_required", field="note")
    if len(note) > MAX_NOTE_LENGTH:
        raise ResidenceError("note_too_long", field="note")
    return insert_departure(session, worker=worker, departed_on=departed_on, note=note, actor=actor, now=now,
                            action="residence.departure.found", ip=ip)
