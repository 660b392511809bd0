"""Venues room, booking: taking and giving back places in slots, the per-worker limits, the
waiting list, closing slots and changing their capacity. Plain Python: the session, the
programme and ``now`` come in; nothing commits; refusals raise :class:`BookingRefused`.

How a slot is never overbooked (the invariant ``taken <= capacity``), on SQLite and PostgreSQL:

* A place is taken by ONE conditional statement,
  ``UPDATE venue_slots SET taken = taken + 1 WHERE id = :id AND taken < capacity AND closed_at
  IS NULL AND starts_at > :now``, and the booking proceeds only when it reports one row. On
  PostgreSQL (READ COMMITTED) a concurrent updater blocks on the row lock and then re-evaluates
  the WHERE clause against the committed row, so the 31st of 30 racers matches nothing; on
  SQLite the write transaction starts with BEGIN IMMEDIATE, so writers run one at a time. No
  read-then-write in Python can race: the check and the increment are the same statement.
  A CHECK constraint (``taken <= capacity``) backs it up in the schema. A booking takes the
  slot's row lock with that UPDATE, its last step but the insert, so bookings of one slot queue
  on it only for the UPDATE, the INSERT and the commit; the per-worker rules run before it.
* The same worker twice at once: on PostgreSQL the worker's row is locked (``SELECT … FOR NO KEY
  UPDATE``, a statement of its own, so the rules' read that follows has a snapshot taken after
  the lock was granted) before the per-worker rules are read, so their bookings run one after
  the other and the second sees the first (SQLite: BEGIN IMMEDIATE already made the transaction
  the only writer); a partial UNIQUE index (one active reservation per worker and slot) is the
  last line, its violation answers ``already_booked``, never a 500 — caught in a savepoint where
  the transaction goes on (waiting-list promotions), or ending a direct booking's transaction,
  whose only write it was, to be rolled back by its unit of work.
* Cancelling gives the place back exactly once: the reservation moves ``booked → cancelled`` by
  a conditional UPDATE, and only when that reports one row is ``taken`` decremented.
* No deadlocks on PostgreSQL: a transaction locks at most one slot and at most one worker it
  waits for, and always the worker before the slot (booking, joining a waiting list); the steps
  that lock a slot first (cancelling, leaving a waiting list, closing a slot, changing its
  capacity) never wait for a worker's lock: a waiting-list promotion — the one step that may
  touch several workers — skips a locked worker (SKIP LOCKED), who keeps their place in line. SQLite needs none of
  this: one writer at a time.

The crowd behind the last place: :func:`look_before_booking` (the API) answers a full slot from one
lock-free statement before any write transaction begins, reading the worker behind the account in
the same statement; only a request that finds a place left goes on to :func:`take_booking`.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached

from wzcheckin.accounts.models import Worker
from wzcheckin.codes.keys import Keyring
from wzcheckin.codes.tokens import TokenKind
from wzcheckin.core.public_ids import new_public_id
from wzcheckin.core.refusals import insert_or_refuse
from wzcheckin.db import HotStatement, is_unique_violation
from wzcheckin.programme import HukouStatus, Programme
from wzcheckin.venues.errors import BookingRefused, VenueError
from wzcheckin.venues.models import (
    ACTIVE_STATUSES,
    Reservation,
    ReservationStatus,
    Slot,
    Venue,
    VenueKind,
    VenueNotice,
    WaitlistEntry,
    WaitlistStatus,
)
from wzcheckin.venues.services import MAX_CAPACITY


class _NoPlace(Exception):
    """The conditional UPDATE matched no row: full, closed or started (decided afterwards)."""


class _WorkerBusy(Exception):
    """A waiting-list promotion found the worker's row locked by another transaction."""


# --- the rules --------------------------------------------------------------------------------

def early_grace(programme: Programme) -> timedelta:
    return timedelta(minutes=programme.venues.early_grace_minutes)


def late_grace(programme: Programme) -> timedelta:
    return timedelta(minutes=programme.venues.late_grace_minutes)


def redeemable_until(programme: Programme, slot: Slot | SlotView) -> datetime:
    """The code works until the slot's end plus the late grace; after that it is a no-show."""
    return slot.ends_at + late_grace(programme)


def ineligibility(worker: Worker) -> str | None:
    """Why a worker may not book (P4 is for retained workers from outside Wenzhou), or None."""
    if not worker.has_pledged:
        return "not_pledged"
    if worker.hukou_is_home:
        return "wenzhou_hukou"
    return None


def check_eligible(worker: Worker) -> None:
    why = ineligibility(worker)
    if why is not None:
        raise BookingRefused("not_eligible", why=why)


def suspended_until(session: Session, programme: Programme, worker_id: int, now: datetime) -> datetime | None:
    """When booking is suspended: ``no_show_limit`` missed bookings within
    ``no_show_window_days`` suspend it for ``suspension_days`` from the last of them.

    A booking counts as missed from its slot's end plus the late grace, whether or not the
    no-show job has marked it yet, so the rule does not depend on when the job last ran.
    """
    if programme.venues.suspension_days == 0:
        return None
    late = late_grace(programme)
    ends = session.scalars(
        sa.select(Slot.ends_at)
        .join(Reservation, Reservation.slot_id == Slot.id)
        .where(Reservation.worker_id == worker_id, Reservation.status.in_(_MAY_BE_MISSED),
               Slot.ends_at >= _suspension_horizon(programme, now), Slot.ends_at <= now - late)
    ).all()
    return _suspension_end(programme, ends, now)


_MAY_BE_MISSED = (ReservationStatus.NO_SHOW, ReservationStatus.BOOKED)


def _suspension_horizon(programme: Programme, now: datetime) -> datetime:
    """The earliest slot end that can still count towards a suspension in force at ``now``."""
    rules = programme.venues
    return now - timedelta(days=rules.no_show_window_days) - timedelta(days=rules.suspension_days) - late_grace(programme)


def _suspension_end(programme: Programme, ends: list[datetime], now: datetime) -> datetime | None:
    """:func:`suspended_until` from the ends of the worker's missed slots (booked or no-show,
    ended with the late grace by ``now``, not before the horizon)."""
    rules = programme.venues
    if rules.suspension_days == 0:
        return None
    late = late_grace(programme)
    window, suspension = timedelta(days=rules.no_show_window_days), timedelta(days=rules.suspension_days)
    missed = sorted(end + late for end in ends)
    limit = rules.no_show_limit
    until = None
    for last in range(limit - 1, len(missed)):
        if missed[last] - missed[last - limit + 1] <= window:
            candidate = missed[last] + suspension
            if candidate > now and (until is None or candidate > until):
                until = candidate
    return until


def _active_reservation(session: Session, worker_id: int, slot_id: int) -> Reservation | None:
    return session.scalar(
        sa.select(Reservation).where(Reservation.worker_id == worker_id, Reservation.slot_id == slot_id,
                                     Reservation.status.in_(ACTIVE_STATUSES))
    )


def active_reservation(session: Session, worker_id: int, slot_id: int) -> Reservation | None:
    """The worker's booking of this slot still in force (booked, or already redeemed)."""
    return _active_reservation(session, worker_id, slot_id)


@dataclass(frozen=True, slots=True)
class HeldBooking:
    """One of the worker's reservations as the per-worker rules read it."""

    slot_id: int
    status: ReservationStatus
    venue_id: int
    starts_at: datetime
    ends_at: datetime


# The worker's reservations every per-worker rule reads, in one round trip (built once): those
# that hold or held a place, of this slot or ending since the earliest instant a rule looks at.
# The statements of the booking path are on the tables, not the mapped classes, and run on the
# session's connection: no ORM compile or result machinery for rows that become plain values.
_SLOTS, _VENUES, _RESERVATIONS, _WORKERS = Slot.__table__, Venue.__table__, Reservation.__table__, Worker.__table__
_HELD_BOOKINGS = (
    sa.select(_RESERVATIONS.c.slot_id, _RESERVATIONS.c.status, _SLOTS.c.venue_id, _SLOTS.c.starts_at,
              _SLOTS.c.ends_at)
    .select_from(_RESERVATIONS.join(_SLOTS, _SLOTS.c.id == _RESERVATIONS.c.slot_id))
    .where(_RESERVATIONS.c.worker_id == sa.bindparam("worker_id"),
           _RESERVATIONS.c.status.in_([*ACTIVE_STATUSES, ReservationStatus.NO_SHOW]),
           sa.or_(_RESERVATIONS.c.slot_id == sa.bindparam("slot_id"), _SLOTS.c.ends_at >= sa.bindparam("since")))
)


def held_bookings(session: Session, programme: Programme, worker_id: int, slot, now: datetime) -> list[HeldBooking]:
    """What :func:`worker_rule_refusal` needs of the worker's bookings for ``slot``."""
    day_start = programme.local_day_start(programme.local_date(slot.starts_at))
    since = min(_suspension_horizon(programme, now), now - late_grace(programme), day_start, slot.starts_at)
    rows = session.connection().execute(_HELD_BOOKINGS, {"worker_id": worker_id, "slot_id": slot.id, "since": since})
    return [HeldBooking(*row) for row in rows]


def worker_rule_refusal(programme: Programme, held: list[HeldBooking], slot, now: datetime) -> BookingRefused | None:
    """The per-worker rules of booking ``slot`` (pure: the worker's bookings come in), in the order
    they are answered: the worker's own place in it; a suspension for missed bookings; one per
    venue per day; no two overlapping in time; at most ``max_active_bookings`` ahead."""
    rules, late = programme.venues, late_grace(programme)
    refusal = (_own_place_refusal(held, slot) or _suspension_refusal(programme, held, now)
               or _same_day_refusal(programme, held, slot))
    if refusal is not None:
        return refusal
    if rules.refuse_overlapping and any(
            h.status is ReservationStatus.BOOKED and h.slot_id != slot.id
            and h.starts_at < slot.ends_at and h.ends_at > slot.starts_at for h in held):
        return BookingRefused("overlapping_booking")
    ahead = sum(1 for h in held if h.status is ReservationStatus.BOOKED and h.ends_at > now - late)
    if ahead >= rules.max_active_bookings:
        return BookingRefused("limit_reached", limit=rules.max_active_bookings)
    return None


def _own_place_refusal(held: list[HeldBooking], slot) -> BookingRefused | None:
    if any(h.slot_id == slot.id and h.status in ACTIVE_STATUSES for h in held):
        return BookingRefused("already_booked")
    return None


def _suspension_refusal(programme: Programme, held: list[HeldBooking], now: datetime) -> BookingRefused | None:
    horizon, late = _suspension_horizon(programme, now), late_grace(programme)
    until = _suspension_end(programme, [h.ends_at for h in held if h.status in _MAY_BE_MISSED
                                        and horizon <= h.ends_at <= now - late], now)
    return BookingRefused("suspended", until=until) if until is not None else None


def _same_day_refusal(programme: Programme, held: list[HeldBooking], slot) -> BookingRefused | None:
    if not programme.venues.one_per_venue_per_day:
        return None
    day = programme.local_date(slot.starts_at)
    start, end = programme.local_day_start(day), programme.local_day_end(day)
    if any(h.status in ACTIVE_STATUSES and h.venue_id == slot.venue_id and h.slot_id != slot.id
           and start <= h.starts_at < end for h in held):
        return BookingRefused("already_booked_that_day")
    return None


# --- locks (see the module docstring for the order) ------------------------------------------------

def _lock_slot(session: Session, slot_id: int) -> Slot | None:
    """The slot row, locked for the rest of the transaction on PostgreSQL (SQLite: the
    transaction already holds the database's write lock) and re-read from the database."""
    return session.scalar(
        sa.select(Slot).where(Slot.id == slot_id).with_for_update(of=Slot).execution_options(populate_existing=True)
    )


def _lock_worker(session: Session, worker: Worker, *, wait: bool = True) -> bool:
    """Serialise one worker's bookings. FOR NO KEY UPDATE: it does not block other rooms'
    inserts that merely reference the worker (scans, ledger entries). With ``wait=False``
    (waiting-list promotions) a worker locked by another transaction is not waited for: the
    answer is False and the promotion moves on, so promotions never wait on a worker lock."""
    if session.get_bind().dialect.name == "sqlite":
        return True  # the transaction began with BEGIN IMMEDIATE: it is the only writer already
    statement = _LOCK_WORKER_WAIT if wait else _LOCK_WORKER_SKIP
    return session.connection().execute(statement, {"worker_id": worker.id}).first() is not None


_LOCK_WORKER = sa.select(_WORKERS.c.id).where(_WORKERS.c.id == sa.bindparam("worker_id"))
_LOCK_WORKER_WAIT = _LOCK_WORKER.with_for_update(key_share=True)
_LOCK_WORKER_SKIP = _LOCK_WORKER.with_for_update(key_share=True, skip_locked=True)


def _refusal_for_status(status: ReservationStatus) -> BookingRefused:
    return BookingRefused({
        ReservationStatus.CANCELLED: "already_cancelled",
        ReservationStatus.REDEEMED: "already_used",
        ReservationStatus.NO_SHOW: "missed",
    }.get(status, "already_cancelled"))


def _why_no_place(slot: Slot, now: datetime) -> BookingRefused:
    if slot.closed_at is not None:
        return BookingRefused("slot_closed")
    if slot.starts_at <= now:
        return BookingRefused("slot_started")
    return BookingRefused("slot_full")


# --- booking ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Booker:
    """What booking reads of a worker — their id and eligibility — as one Core row (the API);
    :func:`book` takes the ORM ``Worker`` as well, which answers the same names."""

    id: int
    has_pledged: bool
    hukou_is_home: bool


@dataclass(frozen=True, slots=True)
class VenueView:
    """A slot's venue as booking reads it (``api.venue_json`` reads the same names of a ``Venue``)."""

    code: str
    name: str
    kind: VenueKind
    district: str
    address: str

    @property
    def bookable(self) -> bool:
        return VenueKind(self.kind).bookable


@dataclass(frozen=True, slots=True)
class SlotView:
    """A slot as committed, with its venue, from one Core row: what booking and its answer read."""

    id: int
    venue_id: int
    starts_at: datetime
    ends_at: datetime
    capacity: int
    taken: int
    closed_at: datetime | None
    venue: VenueView


@dataclass(frozen=True, slots=True)
class Booked:
    """A booking just made, with the slot and venue it was made from (no re-read for the answer)."""

    reservation: Reservation
    slot: SlotView


# The slot and its venue as one row (built once), and the look before booking: the same columns,
# with the worker behind the account (id, eligibility) and whether they hold a place in the slot
# already — one round trip, no lock. The worker's row comes whether or not the slot exists.
_SLOT_COLUMNS = (_SLOTS.c.id, _SLOTS.c.venue_id, _SLOTS.c.starts_at, _SLOTS.c.ends_at, _SLOTS.c.capacity,
                 _SLOTS.c.taken, _SLOTS.c.closed_at, _VENUES.c.code, _VENUES.c.name, _VENUES.c.kind,
                 _VENUES.c.district, _VENUES.c.address)
_SLOT_AND_VENUE = _SLOTS.join(_VENUES, _VENUES.c.id == _SLOTS.c.venue_id)
_SLOT_VIEW = sa.select(*_SLOT_COLUMNS).select_from(_SLOT_AND_VENUE).where(_SLOTS.c.id == sa.bindparam("slot_id"))
# Every booking request sends it (the crowd behind the last place is answered from it alone):
# run on the driver's cursor (db.HotStatement).
_LOOK = HotStatement(
    sa.select(*_SLOT_COLUMNS, _WORKERS.c.id, _WORKERS.c.pledged_at, _WORKERS.c.hukou_status,
              sa.exists().where(_RESERVATIONS.c.worker_id == _WORKERS.c.id,
                                _RESERVATIONS.c.slot_id == sa.bindparam("slot_id"),
                                sa.or_(*(_RESERVATIONS.c.status == status for status in ACTIVE_STATUSES))))
    .select_from(_WORKERS.outerjoin(_SLOT_AND_VENUE, _SLOTS.c.id == sa.bindparam("slot_id")))
    .where(_WORKERS.c.user_id == sa.bindparam("user_id"))
)
_SLOT_WIDTH = len(_SLOT_COLUMNS)


def _slot_from(row) -> SlotView | None:
    if row is None or row[0] is None:
        return None
    return SlotView(*row[:7], VenueView(*row[7:_SLOT_WIDTH]))


@dataclass(frozen=True, slots=True)
class Look:
    """What :func:`look_before_booking` saw: the worker (None: the account has none), the slot as
    committed (None: no such slot), and the refusal of a full slot, if any."""

    booker: Booker | None
    slot: SlotView | None
    refusal: BookingRefused | None


def _full_slot_refusal(slot: SlotView | None, own: bool, now: datetime) -> BookingRefused | None:
    """``slot_full`` (``already_booked`` for the worker's own place) where the locked path would
    say so too: a bookable venue's open slot, not started, every place taken."""
    if (slot is None or slot.taken < slot.capacity or slot.closed_at is not None or slot.starts_at <= now
            or not slot.venue.bookable):
        return None
    return BookingRefused("already_booked" if own else "slot_full")


def look_before_booking(session: Session, user_id: int, slot_id: int, now: datetime) -> Look:
    """Before the unit of work (the API), one statement without a lock: the account's worker as
    a :class:`Booker`, the slot with its venue, and the refusal of a full slot — ``slot_full``, or
    ``already_booked`` for the worker's own place in it. The crowd behind the last place is
    answered from it without loading the worker or queueing for the slot's lock. Refuses only
    where :func:`take_booking` would give the same answer (an eligible worker, an open slot that
    has not started); a request that goes on hands the slot to :func:`take_booking`, whose
    conditional UPDATE re-checks it. A place a cancellation frees a moment later goes to the
    waiting list first anyway."""
    booker, slot, own = _look(session, user_id, slot_id)
    refusal = _full_slot_refusal(slot, own, now) if booker is not None and ineligibility(booker) is None else None
    return Look(booker, slot, refusal)


def _look(session: Session, user_id: int, slot_id: int) -> tuple[Booker | None, SlotView | None, bool]:
    row = _LOOK.first(session.connection(), {"user_id": user_id, "slot_id": slot_id})
    if row is None:
        return None, None, False
    worker_id, pledged_at, hukou_status, own = row[_SLOT_WIDTH:]
    return Booker(worker_id, pledged_at is not None, hukou_status == HukouStatus.HOME), _slot_from(row), own


def refuse_if_full(session: Session, worker: Worker, slot_id: int, now: datetime) -> None:
    """:func:`look_before_booking` for a worker already loaded (the phone page): raises the
    refusal of a full slot, if any. The worker's eligibility is read from the object."""
    if ineligibility(worker) is not None:
        return
    _booker, slot, own = _look(session, worker.user_id, slot_id)
    refusal = _full_slot_refusal(slot, own, now)
    if refusal is not None:
        raise refusal


def _slot_view(session: Session, slot_id: int) -> SlotView | None:
    return _slot_from(session.connection().execute(_SLOT_VIEW, {"slot_id": slot_id}).first())


def book(session: Session, programme: Programme, worker: Worker | Booker, slot_id: int, now: datetime) -> Reservation:
    """Book a place in a slot for a worker (the phone page, the demo); see :func:`take_booking`."""
    return take_booking(session, programme, worker, slot_id, now).reservation


def take_booking(session: Session, programme: Programme, worker: Worker | Booker, slot_id: int,
                 now: datetime, *, slot: SlotView | None = None) -> Booked:
    """Book a place in a slot for a worker (``POST /api/v1/reservations``, :func:`book`).

    The slot's row lock is held for the last step only: the slot and its venue are read as
    committed (one row; ``slot``: as :func:`look_before_booking` read it a moment before, without
    a lock — its times and venue never change, and whether a place is left is the conditional
    UPDATE's to say), the worker is locked and their rules are read (one query, decided in
    Python), then the conditional UPDATE takes the place (and the slot's lock, on PostgreSQL),
    and the insert and the commit follow. A burst of bookings for one slot queues on that lock for
    an UPDATE and an INSERT each, not for every rule; the crowd behind the last place is refused
    from the committed row without waiting at all. Must run in its own unit of work: a lost race
    for the worker's one place in the slot (the UNIQUE index) is answered ``already_booked`` and
    leaves the transaction to be rolled back (no savepoint: it is the transaction's only write)."""
    check_eligible(worker)
    session.flush()  # the Core reads below see what the caller's session holds unflushed (no autoflush)
    if slot is None or slot.id != slot_id:
        slot = _slot_view(session, slot_id)
    if slot is None:
        raise BookingRefused("slot_unknown")
    _refuse_unless_open(session, worker, slot, now)
    _lock_worker(session, worker)
    refusal = worker_rule_refusal(programme, held_bookings(session, programme, worker.id, slot, now), slot, now)
    if refusal is not None:
        raise refusal
    return Booked(_take_place(session, worker, slot, now, source="direct", savepoint=False), slot)


def _refuse_unless_taking_bookings(slot: Slot | SlotView, now: datetime) -> None:
    """The slot's own state, answered in this order by booking and by joining its waiting list."""
    if not slot.venue.bookable:
        raise BookingRefused("not_bookable")
    if slot.closed_at is not None:
        raise BookingRefused("slot_closed")
    if slot.starts_at <= now:
        raise BookingRefused("slot_started")


def _refuse_unless_open(session: Session, worker: Worker | Booker, slot: Slot | SlotView, now: datetime) -> None:
    _refuse_unless_taking_bookings(slot, now)
    if slot.taken >= slot.capacity:
        # Fast refusal for the crowd behind the last place ("full" as committed: a place freed
        # later goes to the waiting list first anyway); only this worker's own booking here is
        # worth saying instead.
        if _active_reservation(session, worker.id, slot.id) is not None:
            raise BookingRefused("already_booked")
        raise BookingRefused("slot_full")


def _book_locked(session: Session, programme: Programme, worker: Worker, slot: Slot, now: datetime, *,
                 source: str, wait: bool = True) -> Reservation:
    """Book with the slot already locked (waiting-list promotions): the worker's rules, then the
    conditional UPDATE, in a savepoint (the promotion's transaction goes on after a refusal)."""
    check_eligible(worker)
    _refuse_unless_open(session, worker, slot, now)
    if not _lock_worker(session, worker, wait=wait):
        raise _WorkerBusy
    refusal = worker_rule_refusal(programme, held_bookings(session, programme, worker.id, slot, now), slot, now)
    if refusal is not None:
        raise refusal
    return _take_place(session, worker, slot, now, source=source, savepoint=True)


# Conditional UPDATE … RETURNING: the check and the increment are one statement, and on
# PostgreSQL it takes the slot's row lock (a racer waits here, then re-checks). Built once.
_TAKE_PLACE = (
    sa.update(_SLOTS)
    .where(_SLOTS.c.id == sa.bindparam("slot_id"), _SLOTS.c.taken < _SLOTS.c.capacity, _SLOTS.c.closed_at.is_(None),
           _SLOTS.c.starts_at > sa.bindparam("now"))
    .values(taken=_SLOTS.c.taken + 1)
    .returning(_SLOTS.c.taken)
)
_INSERT_RESERVATION = sa.insert(_RESERVATIONS).returning(_RESERVATIONS.c.id)
_RESERVATION_COLUMNS = ("public_id", "slot_id", "worker_id", "status", "source", "created_at", "cancelled_at",
                        "cancelled_by", "redeemed_at", "redeemed_by_user_id", "no_show_at")


def _take_place(session: Session, worker: Worker | Booker, slot: Slot | SlotView, now: datetime, *, source: str,
                savepoint: bool) -> Reservation:
    """The place (conditional UPDATE) and the reservation (one Core ``INSERT … RETURNING id``,
    handed to the session as loaded, as ``scanning`` does with a scan: no unit-of-work flush)."""
    reservation = Reservation(public_id=new_public_id(), slot_id=slot.id, worker_id=worker.id,
                              status=ReservationStatus.BOOKED, source=source, created_at=now, cancelled_at=None,
                              cancelled_by=None, redeemed_at=None, redeemed_by_user_id=None, no_show_at=None)
    connection = session.connection()
    try:
        # With ``savepoint`` the place and the reservation are one step: if the insert loses to
        # the partial UNIQUE index, the increment is undone with it and the caller's transaction
        # lives on. Without (a direct booking, its transaction's only write), the caller's unit of
        # work rolls the increment back with everything else.
        with session.begin_nested() if savepoint else nullcontext():
            taken = connection.execute(_TAKE_PLACE, {"slot_id": slot.id, "now": now}).scalar()
            if taken is None:
                raise _NoPlace
            values = {key: getattr(reservation, key) for key in _RESERVATION_COLUMNS}
            reservation.id = connection.execute(_INSERT_RESERVATION, values).scalar_one()
    except _NoPlace:
        raise _why_no_place(_fresh(session, slot), now) from None
    except sa.exc.IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        raise BookingRefused("already_booked") from None
    make_transient_to_detached(reservation)
    session.add(reservation)
    if isinstance(slot, Slot):
        session.expire(slot, ["taken"])
    return reservation


def _fresh(session: Session, slot: Slot | SlotView) -> Slot | SlotView:
    """The slot re-read as committed (after the conditional UPDATE matched nothing)."""
    if isinstance(slot, Slot):
        session.refresh(slot)
        return slot
    return _slot_view(session, slot.id)


def find_reservation(session: Session, public_id: str, *options) -> Reservation | None:
    """The reservation a code names; ``options`` are loader options for what the caller reads next."""
    if not isinstance(public_id, str) or len(public_id) != 16:
        return None
    return session.scalar(sa.select(Reservation).where(Reservation.public_id == public_id.lower()).options(*options))


def cancel(session: Session, programme: Programme, reservation: Reservation, now: datetime) -> Reservation:
    """The worker cancels before the slot starts; the place goes back (once) and, when a
    waiting list exists, straight to the first worker on it who can take it."""
    slot = _lock_slot(session, reservation.slot_id)
    session.refresh(reservation)
    if reservation.status is not ReservationStatus.BOOKED:
        raise _refusal_for_status(reservation.status)
    if slot.starts_at <= now:
        raise BookingRefused("slot_started")
    released = session.execute(
        sa.update(Reservation)
        .where(Reservation.id == reservation.id, Reservation.status == ReservationStatus.BOOKED)
        .values(status=ReservationStatus.CANCELLED, cancelled_at=now, cancelled_by="worker")
        .execution_options(synchronize_session=False)
    )
    if released.rowcount != 1:  # cancelled by a twin request a moment ago
        session.refresh(reservation)
        raise _refusal_for_status(reservation.status)
    session.execute(
        sa.update(Slot).where(Slot.id == slot.id, Slot.taken > 0).values(taken=Slot.taken - 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(reservation)
    session.refresh(slot)
    promote_waitlist(session, programme, slot, now)
    return reservation


# --- the code ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReservationCode:
    token: str
    expires_at: datetime


def reservation_code(keyring: Keyring, programme: Programme, reservation: Reservation) -> ReservationCode:
    """The signed QR code of a booking (kind ``reservation``): it carries only the booking's
    opaque public id and expires when the booking can no longer be redeemed."""
    return sign_reservation_code(keyring, programme, reservation.public_id, reservation.slot, reservation.created_at)


def sign_reservation_code(keyring: Keyring, programme: Programme, public_id: str, slot: Slot | SlotView,
                          booked_at: datetime) -> ReservationCode:
    """:func:`reservation_code` from the booking's public id, its slot and when it was made."""
    expires_at = redeemable_until(programme, slot)
    # Issued when booked: a scan dated before the booking is no evidence of a visit.
    token = keyring.sign(TokenKind.RESERVATION, public_id, expires_at, issued_at=booked_at)
    return ReservationCode(token, expires_at)


# --- the waiting list -------------------------------------------------------------------------
#
# Design: a freed place is BOOKED at once for the first worker on the slot's list who may take
# it (not offered with an expiry). Joining the list is the worker's standing "book me if a place
# comes free"; booking at once needs no second round trip, no place held in limbo while an offer
# waits for a phone with no signal, and no job to expire offers — the place is never idle. The
# worker sees a notice on "My bookings" and may cancel as freely as any booking until the start.
# A worker who can no longer take it (limits, suspension) is skipped, with a notice saying why,
# and the next one gets it.

def join_waitlist(session: Session, programme: Programme, worker: Worker, slot_id: int,
                  now: datetime) -> WaitlistEntry:
    check_eligible(worker)
    _lock_worker(session, worker)  # the worker before the slot, as in book()
    slot = _lock_slot(session, slot_id)
    if slot is None:
        raise BookingRefused("slot_unknown")
    _refuse_unless_taking_bookings(slot, now)
    held = held_bookings(session, programme, worker.id, slot, now)
    refusal = _own_place_refusal(held, slot)
    if refusal is None and slot.remaining > 0:
        refusal = BookingRefused("not_full")
    refusal = refusal or _suspension_refusal(programme, held, now) or _same_day_refusal(programme, held, slot)
    if refusal is not None:
        raise refusal
    waiting = session.scalars(
        sa.select(WaitlistEntry.slot_id)
        .join(Slot, Slot.id == WaitlistEntry.slot_id)
        .where(WaitlistEntry.worker_id == worker.id, WaitlistEntry.status == WaitlistStatus.WAITING,
               Slot.starts_at > now)
    ).all()
    if slot.id in waiting:
        raise BookingRefused("already_waiting")
    limit = programme.venues.max_active_bookings
    if len(waiting) >= limit:
        raise BookingRefused("waitlist_limit", limit=limit)
    entry = WaitlistEntry(slot_id=slot.id, worker_id=worker.id, status=WaitlistStatus.WAITING, created_at=now)
    # The partial UNIQUE index backs the check above.
    insert_or_refuse(session, BookingRefused("already_waiting"), entry, flush=True)
    return entry


def leave_waitlist(session: Session, worker: Worker, entry_id: int, now: datetime) -> None:
    entry = session.get(WaitlistEntry, entry_id)
    if entry is None or entry.worker_id != worker.id:
        raise BookingRefused("not_waiting")
    _lock_slot(session, entry.slot_id)  # a promotion of this very entry finishes first
    left = session.execute(
        sa.update(WaitlistEntry)
        .where(WaitlistEntry.id == entry.id, WaitlistEntry.status == WaitlistStatus.WAITING)
        .values(status=WaitlistStatus.LEFT, resolved_at=now)
        .execution_options(synchronize_session=False)
    )
    if left.rowcount != 1:
        raise BookingRefused("not_waiting")


def promote_waitlist(session: Session, programme: Programme, slot: Slot, now: datetime) -> list[Reservation]:
    """Book the slot's free places for the workers waiting for it, first come first served.
    The caller holds the slot's lock."""
    promoted: list[Reservation] = []
    if slot.closed_at is not None or slot.starts_at <= now:
        return promoted
    entries = session.scalars(
        sa.select(WaitlistEntry)
        .where(WaitlistEntry.slot_id == slot.id, WaitlistEntry.status == WaitlistStatus.WAITING)
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
    ).all()
    for entry in entries:
        session.refresh(slot)
        if slot.remaining <= 0:
            break
        try:
            reservation = _book_locked(session, programme, entry.worker, slot, now, source="waitlist", wait=False)
        except _WorkerBusy:
            continue  # busy booking elsewhere right now: keeps their place in line for the next free place
        except BookingRefused as refusal:
            if refusal.code == "slot_full":
                break
            _resolve_entry(session, entry, WaitlistStatus.SKIPPED, now, reason=refusal.code)
            session.add(VenueNotice(worker_id=entry.worker_id, kind="waitlist_skipped", slot_id=slot.id,
                                    reason=refusal.code, text="", created_at=now))
            continue
        _resolve_entry(session, entry, WaitlistStatus.BOOKED, now, reservation_id=reservation.id)
        session.add(VenueNotice(worker_id=entry.worker_id, kind="waitlist_booked", slot_id=slot.id,
                                reservation_id=reservation.id, text="", created_at=now))
        promoted.append(reservation)
    session.flush()
    return promoted


def _resolve_entry(session: Session, entry: WaitlistEntry, status: WaitlistStatus, now: datetime, *,
                   reason: str | None = None, reservation_id: int | None = None) -> None:
    session.execute(
        sa.update(WaitlistEntry)
        .where(WaitlistEntry.id == entry.id, WaitlistEntry.status == WaitlistStatus.WAITING)
        .values(status=status, resolved_at=now, skip_reason=reason, reservation_id=reservation_id)
        .execution_options(synchronize_session=False)
    )
    session.expire(entry)


# --- officials: closing a slot, changing its capacity ---------------------------------------------

def close_slot(session: Session, programme: Programme, slot_id: int, notice: str, now: datetime,
               closed_by=None) -> int:
    """Close a slot (bad weather, an event): its bookings are cancelled, each booker gets the
    notice on "My bookings", the waiting list ends. Returns how many bookings were cancelled."""
    notice = (notice or "").strip()
    if len(notice) > 300:
        raise VenueError("too_long", "notice")
    slot = _lock_slot(session, slot_id)
    if slot is None:
        raise VenueError("slot_unknown")
    if slot.closed_at is not None:
        raise VenueError("slot_closed")
    if slot.ends_at <= now:
        raise VenueError("slot_ended")
    booked = session.scalars(
        sa.select(Reservation).where(Reservation.slot_id == slot.id, Reservation.status == ReservationStatus.BOOKED)
    ).all()
    cancelled = session.execute(
        sa.update(Reservation)
        .where(Reservation.slot_id == slot.id, Reservation.status == ReservationStatus.BOOKED)
        .values(status=ReservationStatus.CANCELLED, cancelled_at=now, cancelled_by="closure")
        .execution_options(synchronize_session=False)
    ).rowcount
    session.execute(
        sa.update(Slot).where(Slot.id == slot.id)
        .values(closed_at=now, closed_notice=notice, closed_by_user_id=getattr(closed_by, "id", None),
                taken=Slot.taken - cancelled)
        .execution_options(synchronize_session=False)
    )
    for reservation in booked:
        session.add(VenueNotice(worker_id=reservation.worker_id, kind="slot_closed", slot_id=slot.id,
                                reservation_id=reservation.id, text=notice, created_at=now))
    session.execute(
        sa.update(WaitlistEntry)
        .where(WaitlistEntry.slot_id == slot.id, WaitlistEntry.status == WaitlistStatus.WAITING)
        .values(status=WaitlistStatus.EXPIRED, resolved_at=now)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    for reservation in booked:
        session.expire(reservation)
    session.refresh(slot)
    return cancelled


def set_capacity(session: Session, programme: Programme, slot_id: int, capacity: int, now: datetime) -> Slot:
    """Change a slot's capacity; never below the places already taken. Extra places go to the
    waiting list first."""
    if not isinstance(capacity, int) or not 1 <= capacity <= MAX_CAPACITY:
        raise VenueError("capacity_range", "capacity")
    slot = _lock_slot(session, slot_id)
    if slot is None:
        raise VenueError("slot_unknown")
    if slot.ends_at <= now:
        raise VenueError("slot_ended")
    changed = session.execute(
        sa.update(Slot).where(Slot.id == slot.id, Slot.taken <= capacity).values(capacity=capacity)
        .execution_options(synchronize_session=False)
    )
    session.refresh(slot)
    if changed.rowcount != 1:
        raise VenueError("capacity_below_booked", "capacity", taken=slot.taken)
    promote_waitlist(session, programme, slot, now)
    return slot
