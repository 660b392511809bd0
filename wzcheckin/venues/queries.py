"""Venues room, read-only queries for the pages, the API and the home card."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.programme import Programme
from wzcheckin.venues.booking import late_grace
from wzcheckin.venues.models import (
    Reservation,
    ReservationStatus,
    Slot,
    Venue,
    VenueKind,
    VenueNotice,
    WaitlistEntry,
    WaitlistStatus,
)

BOOKING_HORIZON_DAYS = 14  # how far ahead the browse page offers dates


def entry_discount_percent(programme: Programme, venue: Venue) -> int | None:
    """国有景区优惠: the programme file's discount for this scenic spot (``[venues.discounts]``),
    or None. No figure is ever assumed: a scenic spot the file does not name shows none."""
    if VenueKind(venue.kind) is not VenueKind.SCENIC_SPOT:
        return None
    return programme.venues.discounts.get(venue.code.lower())


@dataclass(frozen=True)
class EntryOffer:
    """What a retained worker pays at the door (P4): free entry by booking, or the programme
    file's discount at a state-owned scenic spot. One rule, for every page and the API."""

    free: bool = False
    discount_percent: int | None = None


def entry_offer(programme: Programme, venue: Venue) -> EntryOffer | None:
    """The venue's offer, or None (a landmark; a scenic spot the programme file names no
    discount for)."""
    percent = entry_discount_percent(programme, venue)
    if percent is not None:
        return EntryOffer(discount_percent=percent)
    if venue.free_entry:
        return EntryOffer(free=True)
    return None


def districts(session: Session) -> list[str]:
    return list(session.scalars(sa.select(Venue.district).distinct().order_by(Venue.district)))


def browse_venues(session: Session, *, district: str | None = None, kind: VenueKind | None = None) -> list[Venue]:
    query = sa.select(Venue)
    if district:
        query = query.where(Venue.district == district)
    if kind is not None:
        query = query.where(Venue.kind == kind)
    return list(session.scalars(query.order_by(Venue.district, Venue.name)))


def slots_on(session: Session, programme: Programme, venue_ids: list[int], day: date) -> dict[int, list[Slot]]:
    """The day's slots (local date) of each venue, in time order."""
    found: dict[int, list[Slot]] = defaultdict(list)
    if not venue_ids:
        return found
    rows = session.scalars(
        sa.select(Slot)
        .where(Slot.venue_id.in_(venue_ids), Slot.starts_at >= programme.local_day_start(day),
               Slot.starts_at < programme.local_day_end(day))
        .order_by(Slot.starts_at)
    )
    for slot in rows:
        found[slot.venue_id].append(slot)
    return found


def slots_from(session: Session, venue: Venue, since: datetime, limit: int = 200) -> list[Slot]:
    return list(session.scalars(
        sa.select(Slot).where(Slot.venue_id == venue.id, Slot.ends_at > since).order_by(Slot.starts_at).limit(limit)
    ))


def booking_dates(programme: Programme, now: datetime, days: int = BOOKING_HORIZON_DAYS) -> list[date]:
    today = programme.local_date(now)
    return [today + timedelta(days=offset) for offset in range(days)]


@dataclass
class WorkerBookings:
    upcoming: list[Reservation]   # booked, not yet missed: show the code
    past: list[Reservation]       # used, missed, cancelled (latest first)
    waiting: list[WaitlistEntry]  # waiting lists of slots still ahead
    notices: list[VenueNotice]


def worker_bookings(session: Session, programme: Programme, worker_id: int, now: datetime,
                    past_limit: int = 20) -> WorkerBookings:
    still_redeemable = Slot.ends_at > now - late_grace(programme)
    upcoming = list(session.scalars(
        sa.select(Reservation).join(Slot, Slot.id == Reservation.slot_id)
        .where(Reservation.worker_id == worker_id, Reservation.status == ReservationStatus.BOOKED, still_redeemable)
        .order_by(Slot.starts_at)
    ))
    upcoming_ids = {r.id for r in upcoming}
    past = [r for r in session.scalars(
        sa.select(Reservation).join(Slot, Slot.id == Reservation.slot_id)
        .where(Reservation.worker_id == worker_id)
        .order_by(Slot.starts_at.desc(), Reservation.id.desc()).limit(past_limit + len(upcoming_ids))
    ) if r.id not in upcoming_ids][:past_limit]
    waiting = list(session.scalars(
        sa.select(WaitlistEntry).join(Slot, Slot.id == WaitlistEntry.slot_id)
        .where(WaitlistEntry.worker_id == worker_id, WaitlistEntry.status == WaitlistStatus.WAITING,
               Slot.starts_at > now)
        .order_by(Slot.starts_at)
    ))
    notices = list(session.scalars(
        sa.select(VenueNotice)
        .where(VenueNotice.worker_id == worker_id, VenueNotice.created_at > now - timedelta(days=14))
        .order_by(VenueNotice.created_at.desc(), VenueNotice.id.desc()).limit(20)
    ))
    return WorkerBookings(upcoming, past, waiting, notices)


def upcoming_reservations(session: Session, programme: Programme, worker_id: int, now: datetime,
                          limit: int = 5) -> list[Reservation]:
    return list(session.scalars(
        sa.select(Reservation).join(Slot, Slot.id == Reservation.slot_id)
        .where(Reservation.worker_id == worker_id, Reservation.status == ReservationStatus.BOOKED,
               Slot.ends_at > now - late_grace(programme))
        .order_by(Slot.starts_at).limit(limit)
    ))


@dataclass(frozen=True)
class SlotState:
    """A worker's hold on one slot: booked (``public_id`` of the booking, for its page) or on
    the waiting list."""

    booked_id: str | None = None
    waiting: bool = False


def worker_slot_states(session: Session, worker_id: int, slot_ids: list[int]) -> dict[int, SlotState]:
    """For the browse page: which of these slots the worker has booked, or waits for."""
    if not slot_ids:
        return {}
    states: dict[int, SlotState] = {}
    for slot_id in session.scalars(
        sa.select(WaitlistEntry.slot_id).where(WaitlistEntry.worker_id == worker_id,
                                               WaitlistEntry.status == WaitlistStatus.WAITING,
                                               WaitlistEntry.slot_id.in_(slot_ids))
    ):
        states[slot_id] = SlotState(waiting=True)
    for slot_id, public_id in session.execute(
        sa.select(Reservation.slot_id, Reservation.public_id).where(
            Reservation.worker_id == worker_id, Reservation.slot_id.in_(slot_ids),
            Reservation.status.in_([ReservationStatus.BOOKED, ReservationStatus.REDEEMED]))
    ):
        states[slot_id] = SlotState(booked_id=public_id)
    return states


@dataclass
class SlotCounts:
    slot: Slot
    booked: int      # places handed out and not cancelled
    arrived: int     # redeemed at the door
    no_show: int     # missed (marked, or past the late grace and not yet marked)
    expected: int    # booked, still to come
    waiting: int


def slot_counts(session: Session, programme: Programme, slots: list[Slot], now: datetime) -> list[SlotCounts]:
    """Booked / arrived / no-show counts per slot (the venue staff's day, the officials' list)."""
    ids = [slot.id for slot in slots]
    by_status: dict[tuple[int, str], int] = {}
    waiting: dict[int, int] = {}
    if ids:
        for slot_id, status, count in session.execute(
            sa.select(Reservation.slot_id, Reservation.status, sa.func.count(Reservation.id))
            .where(Reservation.slot_id.in_(ids)).group_by(Reservation.slot_id, Reservation.status)
        ):
            by_status[(slot_id, str(status))] = count
        waiting = dict(session.execute(
            sa.select(WaitlistEntry.slot_id, sa.func.count(WaitlistEntry.id))
            .where(WaitlistEntry.slot_id.in_(ids), WaitlistEntry.status == WaitlistStatus.WAITING)
            .group_by(WaitlistEntry.slot_id)
        ).all())
    rows = []
    for slot in slots:
        booked_now = by_status.get((slot.id, "booked"), 0)
        arrived = by_status.get((slot.id, "redeemed"), 0)
        marked = by_status.get((slot.id, "no_show"), 0)
        missed_unmarked = booked_now if slot.ends_at + late_grace(programme) <= now else 0
        rows.append(SlotCounts(
            slot=slot, booked=booked_now + arrived + marked, arrived=arrived, no_show=marked + missed_unmarked,
            expected=booked_now - missed_unmarked, waiting=waiting.get(slot.id, 0),
        ))
    return rows


def slot_reservations(session: Session, slot: Slot) -> list[Reservation]:
    return list(session.scalars(
        sa.select(Reservation).where(Reservation.slot_id == slot.id).order_by(Reservation.created_at, Reservation.id)
    ))


def venue_for_checkpoint(session: Session, checkpoint_id: int) -> Venue | None:
    return session.scalar(sa.select(Venue).where(Venue.checkpoint_id == checkpoint_id))
