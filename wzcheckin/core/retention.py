"""Core: retention (PIPL art. 19, GB/T 35273 §6.1: keep personal data no longer than the purpose needs):
``wzcheckin retention purge`` deletes the raw personal records of a programme once its appeal
window after the cutoff has passed (``[programme] appeal_window_days``).

What is raw and goes — each record made before the horizon (cutoff + appeal window):

==========================  ====================================================================
``scans``                   every staff scan: who was where when, with temperatures
``health_alerts``           fever and symptom refusals (health data)
``visitor_registrations``   visitors' names, ID and phone numbers (ciphertext), temperatures
``activity_photos``         check-in photos (the check-in itself stays, without its photo)
``one_time_codes``          SMS codes (hashes of the phone, the address and the code)
``login_backoffs``          failed log-in counters (hashes of phones and addresses)
``hotline_cases``           hotline calls: the officer's note, the caller's masked and hashed number
==========================  ====================================================================

What stays: the snapshot (every worker's status and reason, every enterprise's headcount, tier
and amount), subsidy applications and decisions, points, packs handed out, bookings, claims —
the decisions and what was given, which the cutoff report and any later audit read. The report
is the same after a purge: it reads the snapshot, never the scans.

Each room names its raw records in its ``Room(raw_records=...)`` (``RawRecords``: the model, the
column saying when a record was made, and what to do first with the rows that point at one), and
they are purged in room order. The purge refuses to run before the horizon, and while a room's
``purge_guard`` says the raw records are still needed (residence: until the programme's official
snapshot is complete, since the raw evidence is what the cutoff reads). Deletions run in batches, each committed,
so a purge can be stopped and run again; ``--dry-run`` only counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from wzcheckin.core.refusals import Refusal
from wzcheckin.db import unit_of_work
from wzcheckin.programme import Programme

if TYPE_CHECKING:
    from wzcheckin.core.room import Room

DEFAULT_BATCH = 5_000


MESSAGES = {
    "appeal_window_open": _l("the appeal window is open until %(until)s; nothing may be purged before"),
}


class RetentionRefused(Refusal):
    """The purge may not run yet (``appeal_window_open``, or a room's ``purge_guard``, which binds
    its own messages in a subclass)."""

    messages = MESSAGES


@dataclass(frozen=True)
class RawRecords:
    """One kind of raw record: its model, the column saying when it was made, and what must happen
    first to the rows of a batch about to go (``(session, ids)``: detach or delete what points at
    them); a room lists kinds that point at each other in the order they may be deleted."""

    name: str
    model: type
    made_at: sa.Column
    before_delete: Callable[[Session, list], None] | None = None


def raw_records(rooms: Sequence[Room]) -> list[RawRecords]:
    return [kind for room in rooms for kind in room.raw_records]


def purge_horizon(programme: Programme) -> datetime:
    """Raw records made before this instant may go: the cutoff plus the appeal window."""
    return programme.cutoff + timedelta(days=programme.programme.appeal_window_days)


def check_purge_allowed(session: Session, programme: Programme, now: datetime, rooms: Sequence[Room]) -> datetime:
    horizon = purge_horizon(programme)
    if now < horizon:
        raise RetentionRefused("appeal_window_open", until=horizon.isoformat())
    for room in rooms:
        if room.purge_guard is not None:
            room.purge_guard(session, programme)
    return horizon


def count_purgeable(session: Session, horizon: datetime, rooms: Sequence[Room]) -> dict[str, int]:
    return {kind.name: session.scalar(sa.select(sa.func.count()).select_from(kind.model)
                                      .where(kind.made_at < horizon))
            for kind in raw_records(rooms)}


def purge_batch(session: Session, kind: RawRecords, horizon: datetime, batch_size: int) -> int:
    """Delete up to ``batch_size`` records of ``kind`` made before ``horizon``; flushes only."""
    key = kind.model.__table__.primary_key.columns.values()[0]
    ids = list(session.scalars(sa.select(key).where(kind.made_at < horizon).order_by(key).limit(batch_size)))
    if not ids:
        return 0
    if kind.before_delete is not None:
        kind.before_delete(session, ids)
    return session.execute(sa.delete(kind.model).where(key.in_(ids))).rowcount


def purge_raw_records(session: Session, programme: Programme, now: datetime, rooms: Sequence[Room], *,
                      batch_size: int = DEFAULT_BATCH,
                      progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Outer-layer runner: delete every raw record made before the horizon, a committed batch at
    a time; returns how many of each kind went."""
    say = progress or (lambda _message: None)
    horizon = check_purge_allowed(session, programme, now, rooms)
    session.rollback()
    deleted = {}
    for kind in raw_records(rooms):
        deleted[kind.name] = 0
        while True:
            with unit_of_work(session):
                count = purge_batch(session, kind, horizon, batch_size)
            if not count:
                break
            deleted[kind.name] += count
            say(f"  {kind.name}: {deleted[kind.name]} deleted")
    return deleted
