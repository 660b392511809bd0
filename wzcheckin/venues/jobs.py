"""Venues room, scheduled jobs: marking missed bookings (no-shows) and ending the waiting lists
of slots that have begun. Run by the scheduler process only (``wzcheckin.scheduler``)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from wzcheckin.accounts.models import User, Worker
from wzcheckin.core.dates import texted
from wzcheckin.core.job_specs import JobSpec
from wzcheckin.core.sms import queue_sms
from wzcheckin.programme import Programme
from wzcheckin.venues.booking import late_grace
from wzcheckin.venues.models import Reservation, ReservationStatus, Slot, Venue, WaitlistEntry, WaitlistStatus


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


def reminder_body(programme: Programme, venue_name: str, starts_at: datetime, locale: str) -> str:
    with force_locale(locale):
        return _("[Stay in Wenzhou] Reminder: your booking at %(venue)s is tomorrow, %(when)s. Bring your "
                 "booking code; cancel on your phone if you cannot come. Hotline 0577-%(hotline)s",
                 venue=venue_name, when=texted(starts_at), hotline=programme.programme.hotline)


def remind_tomorrows_bookings(session: Session, programme: Programme, now: datetime) -> dict:
    """The day before a booking, a text message to its worker (in their language). Idempotent:
    one dedupe key per reservation (UNIQUE in the outbox), so a second run queues nothing."""
    if not programme.venues.booking_reminders:
        return {"queued": 0, "enabled": False}
    tomorrow = programme.local_date(now) + timedelta(days=1)
    start, end = programme.local_day_start(tomorrow), programme.local_day_end(tomorrow)
    rows = session.execute(
        sa.select(Reservation.id, Reservation.public_id, Reservation.worker_id, Slot.starts_at, Venue.name,
                  User.phone_encrypted, User.phone_masked, User.language)
        .join(Slot, Slot.id == Reservation.slot_id).join(Venue, Venue.id == Slot.venue_id)
        .join(Worker, Worker.id == Reservation.worker_id).join(User, User.id == Worker.user_id)
        .where(Reservation.status == ReservationStatus.BOOKED, Slot.starts_at >= start, Slot.starts_at < end,
               Slot.closed_at.is_(None), User.disabled_at.is_(None))
        .order_by(Reservation.id)
    ).all()
    queued = 0
    for _id, public_id, worker_id, starts_at, venue_name, phone_encrypted, phone_masked, language in rows:
        locale = "en" if language == "en" else "zh_CN"
        message = queue_sms(session, dedupe_key=f"booking-reminder:{public_id}", kind="booking_reminder",
                            body=reminder_body(programme, venue_name, starts_at, locale), now=now,
                            recipient_encrypted=phone_encrypted, recipient_masked=phone_masked, worker_id=worker_id)
        queued += message is not None
    return {"queued": queued, "for": tomorrow.isoformat()}


JOBS = [
    JobSpec(
        id="venues.no_shows",
        func=mark_no_shows,
        trigger="interval",
        trigger_args={"minutes": 10},
        description="Mark bookings not redeemed by their slot's end plus the late grace as no-shows; "
                    "end the waiting lists of slots that have begun.",
    ),
    JobSpec(
        id="venues.booking_reminders",
        func=remind_tomorrows_bookings,
        trigger="cron",
        trigger_args={"hour": "programme:venues.reminder_hour_day_before", "minute": 0},
        description="SMS reminder the day before each booking",
        misfire_grace_time=4 * 3600,
    ),
]
