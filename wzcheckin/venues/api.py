"""Venues room, API (SPEC §6): venues and their slots, a worker's reservations and waiting lists.

Times are ISO 8601 in the programme's timezone (``2021-02-08T09:00:00+08:00``). A reservation's
``id`` is its opaque 16-hex public id — the same id its QR code carries — never a row number.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from flask import abort, jsonify
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import Field, PlainValidator

from wzcheckin import clock
from wzcheckin.api import api_route
from wzcheckin.api.shapes import (
    Day,
    ErrorBody,
    Instant,
    PydanticCustomError,
    QueryModel,
    Refuse,
    RequestModel,
    Shape,
    choice,
)
from wzcheckin.codes.context import current_keyring
from wzcheckin.core import context
from wzcheckin.core.api_errors import ApiError
from wzcheckin.core.auth import current_worker
from wzcheckin.core.dates import parse_iso_day
from wzcheckin.core.roles import Role
from wzcheckin.core.routing import MAX_ROW_ID
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db
from wzcheckin.programme import Programme
from wzcheckin.venues.booking import (
    Booked,
    VenueView,
    active_reservation,
    cancel,
    find_reservation,
    join_waitlist,
    leave_waitlist,
    look_before_booking,
    reservation_code,
    sign_reservation_code,
    take_booking,
)
from wzcheckin.venues.errors import BookingRefused
from wzcheckin.venues.models import Reservation, ReservationStatus, Slot, Venue, VenueKind
from wzcheckin.venues.queries import browse_venues, entry_discount_percent, slots_on, worker_bookings
from wzcheckin.venues.services import find_venue


class VenueOut(Shape):
    code: str
    name: str
    kind: VenueKind
    district: str
    address: str | None = None
    bookable: bool
    discount_percent: int | None = None


class SlotOut(Shape):
    id: int
    starts_at: Instant
    ends_at: Instant
    capacity: int
    remaining: int
    closed: bool | None = None


class VenueList(Shape):
    venues: list[VenueOut]


class VenueSlots(Shape):
    venue: VenueOut
    date: Day
    slots: list[SlotOut]


class ReservationOut(Shape):
    """A booking; ``id`` is its opaque public id, the one its QR code carries."""

    id: Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]
    slot_id: int
    status: ReservationStatus
    starts_at: Instant
    ends_at: Instant
    venue: VenueOut
    source: str | None = None
    created_at: Instant | None = None
    token: str | None = None
    expires_at: Instant | None = None
    replayed: bool | None = None  # true: a retried booking answered with the one it made


class Bookings(Shape):
    upcoming: list[ReservationOut]
    past: list[ReservationOut]


def _kind_message() -> str:
    return _("kind: one of %(kinds)s", kinds=", ".join(k.value for k in VenueKind))


def _date(value: object) -> date | None:
    if value is None:
        return None
    day = parse_iso_day(value) if isinstance(value, str) and value else None
    if day is None:
        raise PydanticCustomError("invalid_date", "a date as YYYY-MM-DD")
    return day


KindFilter = choice(VenueKind, Refuse("invalid_kind", _kind_message))


class VenueQuery(QueryModel):
    district: str | None = None
    kind: KindFilter = None


LocalDay = Annotated[date | None, PlainValidator(_date, json_schema_input_type=date),
                     Field(description="local date, YYYY-MM-DD (default: today)"),
                     Refuse("invalid_date", _l("date: a date as YYYY-MM-DD"))]


class SlotsQuery(QueryModel):
    date: LocalDay = None


class BookRequest(RequestModel):
    slot_id: Annotated[int, Field(ge=1, le=MAX_ROW_ID), Refuse("invalid_slot_id", _l("slot_id: a positive integer"))]


def iso_local(programme: Programme, instant: datetime | None) -> str | None:
    return instant.astimezone(programme.tz).isoformat() if instant is not None else None


def venue_json(programme: Programme, venue: Venue | VenueView) -> dict:
    return {
        "code": venue.code, "name": venue.name, "kind": str(venue.kind), "district": venue.district,
        "address": venue.address, "bookable": venue.bookable,
        "discount_percent": entry_discount_percent(programme, venue),
    }


def slot_json(programme: Programme, slot: Slot) -> dict:
    return {"id": slot.id, "starts_at": iso_local(programme, slot.starts_at),
            "ends_at": iso_local(programme, slot.ends_at), "capacity": slot.capacity, "remaining": slot.remaining,
            "closed": slot.is_closed}


def booked_json(programme: Programme, booked: Booked) -> dict:
    """:func:`reservation_json` of a booking just made, from the rows it was made from."""
    slot, reservation = booked.slot, booked.reservation
    code = sign_reservation_code(current_keyring(), programme, reservation.public_id, slot, reservation.created_at)
    return {
        "id": reservation.public_id, "slot_id": slot.id, "status": str(reservation.status),
        "starts_at": iso_local(programme, slot.starts_at), "ends_at": iso_local(programme, slot.ends_at),
        "venue": venue_json(programme, slot.venue), "source": reservation.source,
        "created_at": iso_local(programme, reservation.created_at),
        "token": code.token, "expires_at": iso_local(programme, code.expires_at),
    }


def reservation_json(programme: Programme, reservation: Reservation, *, with_code: bool = False) -> dict:
    slot = reservation.slot
    body = {
        "id": reservation.public_id, "slot_id": slot.id, "status": str(reservation.status),
        "starts_at": iso_local(programme, slot.starts_at), "ends_at": iso_local(programme, slot.ends_at),
        "venue": venue_json(programme, slot.venue), "source": reservation.source,
        "created_at": iso_local(programme, reservation.created_at),
    }
    if with_code:
        code = reservation_code(current_keyring(), programme, reservation)
        body.update(token=code.token, expires_at=iso_local(programme, code.expires_at))
    return body


def refusal(exc: BookingRefused) -> ApiError:
    status = 404 if exc.code in {"slot_unknown", "not_waiting"} else 409
    extra = {}
    if "until" in exc.params:
        extra["until"] = exc.params["until"].isoformat()
    if "limit" in exc.params:
        extra["limit"] = exc.params["limit"]
    return ApiError(status, exc.code, exc.message, **extra)


@api_route("/venues", methods=["GET"], roles=None, tag="venues",
           summary="Venues taking part in the programme, optionally by district and kind",
           query=VenueQuery, responses={200: VenueList})
def list_venues(query: VenueQuery):
    programme = context.programme()
    venues = browse_venues(db.session, district=query.district or None,
                           kind=VenueKind(query.kind) if query.kind else None)
    return jsonify({"venues": [venue_json(programme, venue) for venue in venues]})


@api_route("/venues/<code>/slots", methods=["GET"], roles=None, tag="venues",
           summary="A venue's slots on one local date, with the places remaining",
           query=SlotsQuery, responses={200: VenueSlots})
def venue_slots(code: str, query: SlotsQuery):
    programme = context.programme()
    venue = find_venue(db.session, code)
    if venue is None:
        raise ApiError(404, "venue_unknown", _("No such venue."))
    day = query.date or programme.local_date(clock.now())
    slots = slots_on(db.session, programme, [venue.id], day).get(venue.id, [])
    return jsonify({"venue": venue_json(programme, venue), "date": day.isoformat(),
                    "slots": [slot_json(programme, slot) for slot in slots]})


@api_route("/reservations", methods=["GET"], roles=(Role.WORKER,), tag="venues",
           summary="The worker's bookings: upcoming (with their codes) and past",
           responses={200: Bookings})
def my_reservations():
    programme = context.programme()
    bookings = worker_bookings(db.session, programme, current_worker().id, clock.now())
    return jsonify({
        "upcoming": [reservation_json(programme, r, with_code=True) for r in bookings.upcoming],
        "past": [reservation_json(programme, r) for r in bookings.past],
    })


@api_route("/reservations", methods=["POST"], roles=(Role.WORKER,), tag="venues",
           summary="Book a place in a slot (201), or 409 with slot_full, already_booked, "
                   "already_booked_that_day, limit_reached, suspended, not_eligible, slot_closed, slot_started",
           body=BookRequest,
           responses={201: ReservationOut, 200: ReservationOut, 404: ErrorBody, 409: ErrorBody},
           bearer_principal=True)
def create_reservation(body: BookRequest):
    # bearer_principal: a phone's caller is read as one Core row (the account's id and role); the
    # worker behind it comes with the look at the slot (look_before_booking), also one Core row.
    # Nothing here reads more of the caller — keep it so, or drop the flag.
    slot_id = body.slot_id
    programme = context.programme()
    now = clock.now()
    look = look_before_booking(db.session, current_user.id, slot_id, now)
    booker = look.booker
    if booker is None:
        abort(404)  # as current_worker(): an account with no worker behind it
    try:
        if look.refusal is not None:
            raise look.refusal
        with unit_of_work(db.session):
            booked = take_booking(db.session, programme, booker, slot_id, now, slot=look.slot)
        answer = booked_json(programme, booked)  # after the commit: no lock is held while it is signed
    except BookingRefused as exc:
        if exc.code == "already_booked":
            # A retry after a lost 201 (the booking was stored, the answer never arrived): the
            # booking it made, 200 instead of 201, rather than a refusal the phone cannot explain.
            db.session.rollback()
            existing = active_reservation(db.session, booker.id, slot_id)
            if existing is not None and existing.status is ReservationStatus.BOOKED:
                return jsonify({**reservation_json(programme, existing, with_code=True), "replayed": True}), 200
        raise refusal(exc) from None
    return jsonify(answer), 201


def _own_reservation(public_id: str) -> Reservation:
    """Only the owner sees their booking; for anyone else it does not exist (404, not 403)."""
    reservation = find_reservation(db.session, public_id)
    if reservation is None or reservation.worker_id != current_worker().id:
        raise ApiError(404, "not_found", _("No such reservation."))
    return reservation


@api_route("/reservations/<public_id>", methods=["GET"], roles=(Role.WORKER,), tag="venues",
           summary="One of the worker's bookings, with its code", responses={200: ReservationOut})
def get_reservation(public_id: str):
    return jsonify(reservation_json(context.programme(), _own_reservation(public_id), with_code=True))


@api_route("/reservations/<public_id>", methods=["DELETE"], roles=(Role.WORKER,), tag="venues",
           summary="Cancel one of the worker's bookings before its slot starts (409 slot_started, "
                   "already_cancelled, already_used); other people's bookings are 404",
           responses={200: ReservationOut, 409: ErrorBody})
def delete_reservation(public_id: str):
    programme = context.programme()
    try:
        with unit_of_work(db.session):
            reservation = cancel(db.session, programme, _own_reservation(public_id), clock.now())
            answer = reservation_json(programme, reservation)
    except BookingRefused as exc:
        raise refusal(exc) from None
    return jsonify(answer)


class WaitlistEntryOut(Shape):
    id: int
    slot_id: int
    status: str


class LeftWaitlist(Shape):
    id: int
    status: Literal["left"]


@api_route("/slots/<rowid:slot_id>/waitlist", methods=["POST"], roles=(Role.WORKER,), tag="venues",
           summary="Join a full slot's waiting list: a freed place is booked for the first worker waiting",
           responses={201: WaitlistEntryOut, 409: ErrorBody})
def join_slot_waitlist(slot_id: int):
    try:
        with unit_of_work(db.session):
            entry = join_waitlist(db.session, context.programme(), current_worker(), slot_id, clock.now())
            answer = {"id": entry.id, "slot_id": entry.slot_id, "status": str(entry.status)}
    except BookingRefused as exc:
        raise refusal(exc) from None
    return jsonify(answer), 201


@api_route("/waitlist/<rowid:entry_id>", methods=["DELETE"], roles=(Role.WORKER,), tag="venues",
           summary="Leave a waiting list", responses={200: LeftWaitlist, 409: ErrorBody})
def leave_slot_waitlist(entry_id: int):
    try:
        with unit_of_work(db.session):
            leave_waitlist(db.session, current_worker(), entry_id, clock.now())
    except BookingRefused as exc:
        raise refusal(exc) from None
    return jsonify({"id": entry_id, "status": "left"})
