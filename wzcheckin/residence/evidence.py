"""Residence room: presence evidence per worker and window (SPEC §3), for previews, the
enterprise roster and the worker's home. The cutoff applies the same rules in bulk SQL
(``confirmation.py``) through :func:`evidence_exists`.

Evidence is an accepted staff scan (``Scan.is_evidence``, judged when it was uploaded: within the
code's validity, not before the worker's registration, within the offline limit) scanned strictly
before the cutoff or the as-of instant; a worker's own check-ins count only when the programme
file says so (``[evidence] self_checkins_count``). A decision also names the instant it knew
things at (``known_at``: when the cutoff run began): an offline upload received after that was not
known to it, so a resumed run or a recomputation of the same decision never sees it — it reaches
the money only through a correction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.benefits.models import ActivityCheckin
from wzcheckin.programme import EvidenceWindow, Programme
from wzcheckin.scanning.models import Scan

_CHUNK = 500  # worker ids per IN (...) list


@dataclass(frozen=True)
class WindowStatus:
    name: str
    name_en: str
    start: date
    end: date
    satisfied: bool
    first_evidence_at: datetime | None
    state: str  # "future", "open" or "closed" as of now

    @property
    def missing(self) -> bool:
        return not self.satisfied and self.state != "future"


def _as_of(programme: Programme, as_of: datetime | None) -> datetime:
    return programme.cutoff if as_of is None else min(as_of, programme.cutoff)


# ``is_evidence = true`` (not ``IS true``) so both databases match the partial index
# ix_scans_evidence_worker_time (WHERE is_evidence) that the cutoff's probes rely on.
def _staff_evidence():
    return Scan.is_evidence == sa.true()


def evidence_rows(programme: Programme, as_of: datetime | None = None, known_at: datetime | None = None) -> sa.Select:
    """(worker_id, at) of every piece of evidence before the cutoff (or ``as_of``, if earlier),
    received by ``known_at`` when given."""
    limit = _as_of(programme, as_of)
    staff = sa.select(Scan.worker_id.label("worker_id"), Scan.scanned_at.label("at")).where(
        _staff_evidence(), Scan.scanned_at < limit
    )
    if known_at is not None:
        staff = staff.where(Scan.received_at <= known_at)
    if not programme.evidence.self_checkins_count:
        return staff

    own = sa.select(ActivityCheckin.worker_id.label("worker_id"), ActivityCheckin.checked_in_at.label("at")).where(
        ActivityCheckin.checked_in_at < limit
    )
    return sa.union_all(staff, own)


def evidence_exists(programme: Programme, worker_id, start: datetime, end: datetime) -> sa.ColumnElement[bool]:
    """SQL: does the worker (a column or value) have evidence in [start, end)? One index probe
    per source, correlated to ``worker_id``; the caller clips ``end`` to its as-of instant."""
    staff = sa.exists().where(Scan.worker_id == worker_id, _staff_evidence(),
                              Scan.scanned_at >= start, Scan.scanned_at < end)
    if not programme.evidence.self_checkins_count:
        return staff

    own = sa.exists().where(ActivityCheckin.worker_id == worker_id, ActivityCheckin.checked_in_at >= start,
                            ActivityCheckin.checked_in_at < end)
    return sa.or_(staff, own)


def _first_evidence(session: Session, programme: Programme, window: EvidenceWindow,
                    worker_ids: Sequence[int], as_of: datetime | None = None) -> dict[int, datetime]:
    start, end = programme.window_bounds(window)
    end = min(end, _as_of(programme, as_of))
    evidence = evidence_rows(programme, as_of).subquery()
    found: dict[int, datetime] = {}
    for offset in range(0, len(worker_ids), _CHUNK):
        chunk = list(worker_ids[offset:offset + _CHUNK])
        rows = session.execute(
            sa.select(evidence.c.worker_id, sa.func.min(evidence.c.at))
            .where(evidence.c.worker_id.in_(chunk), evidence.c.at >= start, evidence.c.at < end)
            .group_by(evidence.c.worker_id)
        )
        for worker_id, first in rows:
            found[worker_id] = first if first.tzinfo else first.replace(tzinfo=start.tzinfo)
    return found


def window_statuses(session: Session, programme: Programme, worker_ids: Sequence[int],
                    now: datetime) -> dict[int, list[WindowStatus]]:
    """For each worker, each evidence window: satisfied or not, and whether it is still open.

    Evidence counts until the cutoff, never at or after it: what a page shows is what the cutoff
    would see if it ran now.
    """
    result: dict[int, list[WindowStatus]] = {worker_id: [] for worker_id in worker_ids}
    for window in programme.evidence_windows:
        start, end = programme.window_bounds(window)
        state = "future" if now < start else ("open" if now < end else "closed")
        first = _first_evidence(session, programme, window, worker_ids) if state != "future" else {}
        for worker_id in worker_ids:
            at = first.get(worker_id)
            result[worker_id].append(WindowStatus(window.name, window.name_en, window.start, window.end,
                                                  at is not None, at, state))
    return result
