"""Venues room, domain functions for officials: venues (each with its checkpoint
``venue:<code>``), recurring opening hours, and the time slots that staggered entry (错峰) is
made of. Plain Python: the session, the programme and ``now`` come in; nothing commits.

Booking, cancelling, waiting lists and closing slots are in ``booking.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.core.csv_import import ImportReport, import_rows
from wzcheckin.core.dates import parse_iso_day
from wzcheckin.directory.checkpoints import ensure_checkpoint
from wzcheckin.directory.models import CheckpointKind
from wzcheckin.programme import Programme
from wzcheckin.venues.errors import VenueError, english_message
from wzcheckin.venues.models import OpeningHours, Slot, Venue, VenueKind

VENUE_COLUMNS = ("code", "name", "kind", "district", "address")
CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{1,39}$")
MIN_SLOT_MINUTES, MAX_SLOT_MINUTES = 5, 480
MAX_CAPACITY = 10_000
MAX_SLOTS_AT_ONCE = 96
MAX_GENERATE_DAYS = 92


# --- venues -----------------------------------------------------------------------------------

@dataclass
class VenueRow:
    code: str
    name: str
    kind: VenueKind
    district: str
    address: str


def normalise_code(raw: str | None) -> str:
    return (raw or "").strip().lower()


def parse_venue_row(row: dict[str, str]) -> VenueRow:
    """Validate one venue (a CSV line or the officials' form); raise VenueError naming the field."""
    code = normalise_code(row.get("code"))
    if not code:
        raise VenueError("required", "code")
    if not CODE_PATTERN.match(code):
        raise VenueError("code_format", "code")
    name = (row.get("name") or "").strip()
    if not name:
        raise VenueError("required", "name")
    if len(name) > 200:
        raise VenueError("too_long", "name")
    raw_kind = (row.get("kind") or "").strip().lower()
    if not raw_kind:
        raise VenueError("required", "kind")
    try:
        kind = VenueKind(raw_kind)
    except ValueError:
        raise VenueError("kind_unknown", "kind", kind=raw_kind) from None
    district = (row.get("district") or "").strip()
    if not district:
        raise VenueError("required", "district")
    if len(district) > 50:
        raise VenueError("too_long", "district")
    address = (row.get("address") or "").strip()
    if len(address) > 300:
        raise VenueError("too_long", "address")
    return VenueRow(code, name, kind, district, address)


def find_venue(session: Session, code: str) -> Venue | None:
    return session.scalar(sa.select(Venue).where(Venue.code == normalise_code(code)))


def upsert_venue(session: Session, data: VenueRow, now: datetime) -> tuple[Venue, bool]:
    """Create or update a venue and its checkpoint ``venue:<code>``. Returns (venue, created)."""
    checkpoint = ensure_checkpoint(session, CheckpointKind.VENUE, data.code, name=data.name, district=data.district,
                                   now=now)
    venue = session.scalar(sa.select(Venue).where(Venue.code == data.code))
    created = venue is None
    if venue is None:
        venue = Venue(code=data.code, checkpoint_id=checkpoint.id, created_at=now)
        session.add(venue)
    venue.name = data.name
    venue.kind = data.kind
    venue.district = data.district
    venue.address = data.address
    venue.updated_at = now
    session.flush()
    return venue, created


def import_venues(session: Session, text: str, now: datetime, progress=None) -> ImportReport:
    """``wzcheckin import venues``: all or nothing; every bad line named; re-importing updates."""
    return import_rows(text, VENUE_COLUMNS, _parse_venue_line, lambda data: upsert_venue(session, data, now)[1],
                       unique=[("code", lambda data: data.code)], progress=progress)


def _parse_venue_line(row: dict[str, str]) -> VenueRow:
    """:func:`parse_venue_row` for a CSV line: a refusal becomes the line's reason, in English."""
    try:
        return parse_venue_row(row)
    except VenueError as exc:
        value = row.get(exc.field or "", "")
        raise ValueError(f"{exc.field}: {english_message(exc)}"
                         + (f" (got {value!r})" if exc.code == "kind_unknown" else "")) from None


# --- slots ------------------------------------------------------------------------------------

def parse_day(raw: str | None, field: str = "date") -> date:
    day = parse_iso_day((raw or "").strip())
    if day is None:
        raise VenueError("date_format", field)
    return day


def parse_hhmm(raw: str | None, field: str) -> time:
    text = (raw or "").strip()
    if not re.fullmatch(r"\d{1,2}:\d{2}", text):
        raise VenueError("time_format", field)
    hours, minutes = (int(part) for part in text.split(":"))
    if hours > 23 or minutes > 59:
        raise VenueError("time_format", field)
    return time(hours, minutes)


def _check_shape(start: time, end: time, length: int, capacity: int) -> int:
    """Validate a day's shape of slots; returns how many slots it makes."""
    if not isinstance(length, int) or not MIN_SLOT_MINUTES <= length <= MAX_SLOT_MINUTES:
        raise VenueError("length_range", "length")
    if not isinstance(capacity, int) or not 1 <= capacity <= MAX_CAPACITY:
        raise VenueError("capacity_range", "capacity")
    span = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
    if span <= 0:
        raise VenueError("to_before_from", "to")
    if span % length:
        raise VenueError("span_not_multiple", "to", **{"from": start.strftime("%H:%M"), "to": end.strftime("%H:%M"),
                                                       "length": length})
    count = span // length
    if count > MAX_SLOTS_AT_ONCE:
        raise VenueError("too_many_slots", "length", limit=MAX_SLOTS_AT_ONCE)
    return count


def plan_day(programme: Programme, day: date, start: time, end: time, length: int,
             capacity: int) -> list[tuple[datetime, datetime]]:
    """Consecutive [start, end) instants (UTC) of one local day. Times are wall-clock times in
    the programme's timezone (Python adds minutes to an aware datetime on the wall clock)."""
    count = _check_shape(start, end, length, capacity)
    first = datetime.combine(day, start, tzinfo=programme.tz)
    step = timedelta(minutes=length)
    return [((first + i * step).astimezone(UTC), (first + (i + 1) * step).astimezone(UTC)) for i in range(count)]


def _overlapping(session: Session, venue: Venue, starts_at: datetime, ends_at: datetime) -> Slot | None:
    return session.scalar(
        sa.select(Slot).where(Slot.venue_id == venue.id, Slot.starts_at < ends_at, Slot.ends_at > starts_at)
        .order_by(Slot.starts_at).limit(1)
    )


def describe_slot(programme: Programme, slot_or_start: Slot | datetime, ends_at: datetime | None = None) -> str:
    """``2021-02-08 09:00–10:00`` in local time (the same in every language)."""
    if isinstance(slot_or_start, Slot):
        starts_at, ends_at = slot_or_start.starts_at, slot_or_start.ends_at
    else:
        starts_at = slot_or_start
    start_local = starts_at.astimezone(programme.tz)
    text = start_local.strftime("%Y-%m-%d %H:%M")
    if ends_at is not None:
        text += "–" + ends_at.astimezone(programme.tz).strftime("%H:%M")
    return text


def _require_bookable(venue: Venue) -> None:
    if not venue.bookable:
        raise VenueError("not_bookable", "venue")


def create_slots(session: Session, programme: Programme, venue: Venue, day: date, start: time, end: time,
                 length: int, capacity: int, now: datetime) -> list[Slot]:
    """``wzcheckin slots create`` and the officials' one-day form: consecutive slots, all or
    nothing — a slot in the past or overlapping an existing one refuses the whole request."""
    _require_bookable(venue)
    plan = plan_day(programme, day, start, end, length, capacity)
    if plan[0][0] <= now:
        raise VenueError("in_the_past", "date")
    for starts_at, ends_at in plan:
        clash = _overlapping(session, venue, starts_at, ends_at)
        if clash is not None:
            raise VenueError("overlap", "from", slot=describe_slot(programme, clash))
    slots = [Slot(venue_id=venue.id, starts_at=s, ends_at=e, capacity=capacity, taken=0, closed_notice="",
                  created_at=now) for s, e in plan]
    session.add_all(slots)
    session.flush()
    return slots


# --- recurring opening hours --------------------------------------------------------------------

def add_opening_hours(session: Session, venue: Venue, *, weekdays: set[int], opens: time, closes: time,
                      slot_minutes: int, capacity: int, now: datetime) -> OpeningHours:
    _require_bookable(venue)
    if not weekdays or not weekdays <= set(range(7)):
        raise VenueError("weekdays_required", "weekdays")
    _check_shape(opens, closes, slot_minutes, capacity)
    hours = OpeningHours(venue_id=venue.id, weekdays=sum(1 << day for day in weekdays), opens=opens, closes=closes,
                         slot_minutes=slot_minutes, capacity=capacity, created_at=now)
    session.add(hours)
    session.flush()
    return hours


def remove_opening_hours(session: Session, venue: Venue, hours_id: int) -> bool:
    result = session.execute(
        sa.delete(OpeningHours).where(OpeningHours.id == hours_id, OpeningHours.venue_id == venue.id)
    )
    return result.rowcount == 1


def opening_hours(session: Session, venue: Venue) -> list[OpeningHours]:
    return list(session.scalars(
        sa.select(OpeningHours).where(OpeningHours.venue_id == venue.id).order_by(OpeningHours.opens, OpeningHours.id)
    ))


@dataclass
class Generated:
    created: list[Slot]
    skipped: int  # slots already there (or overlapping one), or already begun


def generate_slots(session: Session, programme: Programme, venue: Venue, first: date, last: date,
                   now: datetime) -> Generated:
    """Slots for a date range from the venue's opening hours. Re-running it is harmless: a slot
    that would overlap an existing one, or has already begun, is skipped and counted."""
    _require_bookable(venue)
    if last < first:
        raise VenueError("range_order", "last")
    if (last - first).days + 1 > MAX_GENERATE_DAYS:
        raise VenueError("range_too_long", "last", limit=MAX_GENERATE_DAYS)
    rows = opening_hours(session, venue)
    if not rows:
        raise VenueError("no_hours", "first")
    created: list[Slot] = []
    skipped = 0
    day = first
    while day <= last:
        for hours in rows:
            if not hours.open_on(day):
                continue
            for starts_at, ends_at in plan_day(programme, day, hours.opens, hours.closes, hours.slot_minutes,
                                               hours.capacity):
                if starts_at <= now or _overlapping(session, venue, starts_at, ends_at) is not None:
                    skipped += 1
                    continue
                slot = Slot(venue_id=venue.id, starts_at=starts_at, ends_at=ends_at, capacity=hours.capacity,
                            taken=0, closed_notice="", created_at=now)
                session.add(slot)
                session.flush()  # the next overlap check sees it
                created.append(slot)
        day += timedelta(days=1)
    return Generated(created, skipped)
