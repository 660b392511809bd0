"""Venues room, models: venues (libraries, sports venues, workers' centres, scenic spots,
landmarks), their opening hours and time slots, reservations, waiting lists and the notices a
worker sees on their bookings (P4: 限量、预约、错峰 — capacity caps, booking, staggered slots)."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wzcheckin.db import Base, BigIntPK, UTCDateTime, enum_column


class VenueKind(StrEnum):
    LIBRARY = "library"                # 公共图书馆: free entry by booking
    SPORTS = "sports"                  # 体育场馆: free entry by booking
    WORKERS_CENTRE = "workers_centre"  # 职工活动中心: free entry by booking
    CULTURE = "culture"                # museums, cultural centres: free entry by booking
    SCENIC_SPOT = "scenic_spot"        # 国有景区: discounted entry by booking
    LANDMARK = "landmark"              # 地标打卡点: a check-in point, never booked

    @property
    def bookable(self) -> bool:
        return self is not VenueKind.LANDMARK


class Venue(Base):
    """A place retained workers may visit; its scanning checkpoint is ``venue:<code>``."""

    __tablename__ = "venues"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[VenueKind] = mapped_column(enum_column(VenueKind, "venue_kind"))
    district: Mapped[str] = mapped_column(sa.String(50), index=True)
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    checkpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("checkpoints.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    checkpoint = relationship("Checkpoint", lazy="joined")

    @property
    def bookable(self) -> bool:
        return VenueKind(self.kind).bookable

    @property
    def free_entry(self) -> bool:
        """Free by booking (P4); a scenic spot is not free, it may be discounted."""
        return self.bookable and VenueKind(self.kind) is not VenueKind.SCENIC_SPOT


class OpeningHours(Base):
    """Recurring opening hours: on the given weekdays, slots of ``slot_minutes`` from ``opens``
    to ``closes`` (local time) with ``capacity`` places each. Officials generate a date range of
    slots from these rows; the rows themselves book nothing."""

    __tablename__ = "venue_opening_hours"
    __table_args__ = (
        sa.CheckConstraint("closes > opens", name="closes_after_opens"),
        sa.CheckConstraint("slot_minutes > 0 AND capacity > 0", name="positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(sa.ForeignKey("venues.id", ondelete="CASCADE"), index=True)
    # Bit 0 is Monday … bit 6 is Sunday (date.weekday()).
    weekdays: Mapped[int] = mapped_column(sa.SmallInteger)
    opens: Mapped[time] = mapped_column(sa.Time)
    closes: Mapped[time] = mapped_column(sa.Time)
    slot_minutes: Mapped[int] = mapped_column()
    capacity: Mapped[int] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    venue = relationship("Venue")

    def open_on(self, day: date) -> bool:
        return bool(self.weekdays & (1 << day.weekday()))


class Slot(Base):
    """A time slot with a capacity cap (限量). ``taken`` counts the places handed out — booked,
    redeemed or missed — and only ever moves through conditional UPDATEs (see booking.py)."""

    __tablename__ = "venue_slots"
    __table_args__ = (
        sa.UniqueConstraint("venue_id", "starts_at"),
        # The database refuses an overbooked slot even if a code path forgot its condition.
        sa.CheckConstraint("taken >= 0 AND taken <= capacity", name="taken_within_capacity"),
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.Index("ix_venue_slots_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(sa.ForeignKey("venues.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column()
    taken: Mapped[int] = mapped_column(default=0)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_notice: Mapped[str] = mapped_column(sa.String(300), default="")
    closed_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    venue = relationship("Venue", lazy="joined")

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    @property
    def remaining(self) -> int:
        return 0 if self.closed_at is not None else max(0, self.capacity - self.taken)


class ReservationStatus(StrEnum):
    BOOKED = "booked"        # a place is held; the code can be redeemed
    REDEEMED = "redeemed"    # scanned at the venue inside the slot (presence evidence)
    CANCELLED = "cancelled"  # by the worker before the start, or by the slot's closing
    NO_SHOW = "no_show"      # not redeemed by the slot's end plus the late grace


# Reservations that hold their worker's one place in a slot (the partial UNIQUE index below).
ACTIVE_STATUSES = (ReservationStatus.BOOKED, ReservationStatus.REDEEMED)
_ACTIVE_SQL = "status IN ('booked', 'redeemed')"


class Reservation(Base):
    """预约: one worker's place in one slot. The QR code carries only ``public_id``."""

    __tablename__ = "reservations"
    __table_args__ = (
        # The last line of defence: one active reservation per worker per slot, whatever the
        # interleaving of two requests from the same phone.
        sa.Index("uq_reservations_active_worker_slot", "worker_id", "slot_id", unique=True,
                 sqlite_where=sa.text(_ACTIVE_SQL), postgresql_where=sa.text(_ACTIVE_SQL)),
        sa.Index("ix_reservations_worker_status", "worker_id", "status"),
        sa.Index("ix_reservations_slot_status", "slot_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(16), unique=True)
    slot_id: Mapped[int] = mapped_column(sa.ForeignKey("venue_slots.id"))
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("workers.id"))
    status: Mapped[ReservationStatus] = mapped_column(enum_column(ReservationStatus, "reservation_status", 12))
    source: Mapped[str] = mapped_column(sa.String(12), default="direct")  # "direct" or "waitlist"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by: Mapped[str | None] = mapped_column(sa.String(12))  # "worker" or "closure"
    redeemed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    redeemed_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    no_show_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    slot = relationship("Slot", lazy="joined")
    worker = relationship("Worker")


class WaitlistStatus(StrEnum):
    WAITING = "waiting"
    BOOKED = "booked"      # a freed place was booked for the worker
    SKIPPED = "skipped"    # a place came free but the worker could not take it (limits, ...)
    LEFT = "left"          # the worker left the list
    EXPIRED = "expired"    # the slot started or closed first


class WaitlistEntry(Base):
    """候补: a worker waiting for a place in a full slot; first come, first served."""

    __tablename__ = "venue_waitlist"
    __table_args__ = (
        sa.Index("uq_venue_waitlist_waiting_slot_worker", "slot_id", "worker_id", unique=True,
                 sqlite_where=sa.text("status = 'waiting'"), postgresql_where=sa.text("status = 'waiting'")),
        sa.Index("ix_venue_waitlist_slot_status", "slot_id", "status", "created_at"),
        sa.Index("ix_venue_waitlist_worker_status", "worker_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    slot_id: Mapped[int] = mapped_column(sa.ForeignKey("venue_slots.id"))
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("workers.id"))
    status: Mapped[WaitlistStatus] = mapped_column(enum_column(WaitlistStatus, "waitlist_status", 12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    skip_reason: Mapped[str | None] = mapped_column(sa.String(32))
    reservation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reservations.id"))

    slot = relationship("Slot", lazy="joined")
    worker = relationship("Worker")


class VenueNotice(Base):
    """What happened to a worker's booking without them doing it: the slot was closed (with the
    official's notice), or a waiting-list place was booked for them. Shown on "My bookings"."""

    __tablename__ = "venue_notices"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("workers.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))  # slot_closed, waitlist_booked, waitlist_skipped
    slot_id: Mapped[int] = mapped_column(sa.ForeignKey("venue_slots.id"))
    reservation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reservations.id"))
    text: Mapped[str] = mapped_column(sa.String(300), default="")  # the official's words, as typed
    reason: Mapped[str | None] = mapped_column(sa.String(32))       # why a waiting-list place was skipped
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    slot = relationship("Slot", lazy="joined")
