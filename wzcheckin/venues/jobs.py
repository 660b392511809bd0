"""Venues room, scheduled jobs: marking missed bookings (no-shows) and ending the waiting lists
of slots that have begun. Run by the scheduler process only (``wzcheckin.scheduling``)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.programme import Programme
from wzcheckin.scheduling import JobSpec
from wzcheckin.venues.booking import late_grace
from wzcheckin.venues.models import Reservation, ReservationStatus, Slot, WaitlistEntry, WaitlistStatus


def mark_no_shows(session: Session, programme: Programme, now: datetime) -> dict:
    """Bookings not redeemed by their slot's end plus the late grace become no-shows (they count
    towards the suspension rule).

    Idempotent and safe beside concurrent redemptions: one conditional UPDATE moves only rows
    still ``booked``, so a second run (or a run after a crash) marks nothing twice and a code
    redeemed a moment earlier is left alone. A no-show releases no place: the slot is over, and
    ``taken`` keeps counting the places that were handed out. (A booking cancelled before its
    slot is what frees a place, and the waiting list takes it at once — see booking.py.)
    """
    ended = sa.select(Slot.id).where(Slot.ends_at <= now - late_grace(programme))
    marked = session.execute(
        sa.update(Reservation)
        .where(Reservation.status == ReservationStatus.BOOKED, Reservation.slot_id.in_(ended))
        .values(status=ReservationStatus.NO_SHOW, no_show_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    begun = sa.select(Slot.id).where(Slot.starts_at <= now)
    expired = session.execute(
        sa.update(WaitlistEntry)
        .where(WaitlistEntry.status == WaitlistStatus.WAITING, WaitlistEntry.slot_id.in_(begun))
        .values(status=WaitlistStatus.EXPIRED, resolved_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    return {"no_shows": marked, "waitlist_expired": expired, "at": now.isoformat()}


JOBS = [
    JobSpec(
        id="venues.no_shows",
        func="wzcheckin.venues.jobs:mark_no_shows",
        trigger="interval",
        trigger_args={"minutes": 10},
        description="Mark bookings not redeemed by their slot's end plus the late grace as no-shows; "
                    "end the waiting lists of slots that have begun.",
    ),
]
