"""Residence room's part of the worker's home: which evidence windows are satisfied, a recorded
departure, and — after the cutoff — whether the worker was confirmed retained (the official
snapshot, or the latest correction that changed it), with their appeals and decisions."""

from __future__ import annotations

from wzcheckin.core.home import HomePanel
from wzcheckin.programme import HukouStatus
from wzcheckin.residence.appeals import appeals_open, current_outcome, worker_appeals
from wzcheckin.residence.departures import active_departure
from wzcheckin.residence.evidence import window_statuses
from wzcheckin.residence.queries import withdrawn_departures, worker_status
from wzcheckin.residence.subsidies import official_snapshot


def confirmation(session, worker, programme, now):
    """None before the cutoff or until its snapshot is complete; else the worker's status row
    (None too if they registered after the cutoff — not in the snapshot, so not confirmed)."""
    if now < programme.cutoff:
        return None, None
    snapshot = official_snapshot(session, programme)
    if snapshot is None:
        return None, None
    return snapshot, worker_status(session, snapshot.id, worker.id)


def outcome(session, snapshot, worker):
    """(confirmed, reason) in the latest version (a correction's, else the snapshot's), or None."""
    return current_outcome(session, snapshot, worker.id) if snapshot is not None else None


def panel(session, worker, programme, now):
    statuses = window_statuses(session, programme, [worker.id], now)[worker.id]
    snapshot, status = confirmation(session, worker, programme, now)
    latest = outcome(session, snapshot, worker)
    context = {
        "outcome": latest,
        # Told on their page: their appeals and the decisions (SPEC §3).
        "appeals": worker_appeals(session, worker.id) if snapshot is not None else [],
        "can_appeal": bool(latest is not None and not latest[0] and appeals_open(programme, snapshot, now)),
        "windows": statuses,
        "cutoff_passed": now >= programme.cutoff,
        "snapshot": snapshot,
        "status": status,
        "departure": active_departure(session, worker.id),
        "withdrawals": withdrawn_departures(session, worker.id),
        # Told on their page: not counted until an official decides (SPEC §3).
        "hukou_review": worker.hukou_status is HukouStatus.REVIEW,
        # P2 needs a permit valid at the cutoff: one without an expiry on file is not.
        "permit_expiry_missing": worker.has_residence_permit and worker.residence_permit_expiry is None,
    }
    return HomePanel("residence/_home_evidence.html", context, order=20)


def standing(session, worker, programme, now):
    statuses = window_statuses(session, programme, [worker.id], now)[worker.id]
    snapshot, _status = confirmation(session, worker, programme, now)
    latest = outcome(session, snapshot, worker)
    # The latest version decides: a correction's outcome once one changed the worker's.
    confirmed = None if snapshot is None else bool(latest is not None and latest[0])
    departure = active_departure(session, worker.id)
    return {
        "evidence_windows": [
            {"name": s.name, "name_en": s.name_en, "start": s.start.isoformat(), "end": s.end.isoformat(),
             "satisfied": s.satisfied, "state": s.state}
            for s in statuses
        ],
        # null before the cutoff (and until its snapshot is written); then true or false.
        "confirmed": confirmed,
        "confirmation_reason": (latest[1] if latest is not None else "not_registered") if snapshot else None,
        "departure": {"departed_on": departure.departed_on.isoformat()} if departure else None,
        # Shown to the worker: every withdrawal of a departure about them, and who made it.
        "withdrawn_departures": [
            {"departed_on": w.departed_on.isoformat(), "recorded_by": w.recorded_by,
             "withdrawn_at": w.withdrawn_at.isoformat(), "withdrawn_by": w.withdrawn_by}
            for w in withdrawn_departures(session, worker.id)
        ],
    }
