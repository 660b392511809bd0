"""Venues room, domain errors and what they say. Codes are stable (API, CLI, tests); the words
are translated (pages and API messages follow the reader's language, the CLI speaks English)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wzcheckin.core.refusals import Refusal

MESSAGES = {
    # booking
    "not_eligible": _l("Only workers from outside Wenzhou who pledged to stay may book."),
    "not_bookable": _l("This is a check-in point: it needs no booking."),
    "slot_unknown": _l("No such time slot."),
    "slot_full": _l("This slot is full."),
    "slot_closed": _l("This slot has been closed."),
    "slot_started": _l("This slot has already started."),
    "already_booked": _l("You have already booked this slot."),
    "already_booked_that_day": _l("You already have a booking at this venue on that day."),
    "overlapping_booking": _l("You already have a booking at that time: cancel it first."),
    "limit_reached": _l("You have %(limit)s upcoming bookings, the most allowed. Cancel one to book another."),
    "suspended": _l("Booking is suspended until %(until)s after repeated missed bookings."),
    "already_cancelled": _l("This booking was already cancelled."),
    "already_used": _l("This booking has already been used."),
    "missed": _l("This booking was missed."),
    "not_full": _l("This slot still has places: book it directly."),
    "already_waiting": _l("You are already on the waiting list for this slot."),
    "waitlist_limit": _l("You are on %(limit)s waiting lists, the most allowed."),
    "not_waiting": _l("You are not on this waiting list."),
    # officials: venues, hours, slots
    "required": _l("This field is required."),
    "too_long": _l("This is too long."),
    "code_format": _l("2–40 lower-case letters, digits, - or _."),
    "code_exists": _l("A venue with this code exists already."),
    "kind_unknown": _l("Unknown kind of venue."),
    "venue_unknown": _l("No such venue."),
    "date_format": _l("Enter a date as YYYY-MM-DD."),
    "time_format": _l("Enter a time as HH:MM."),
    "to_before_from": _l("The end must be after the start."),
    "length_range": _l("A slot lasts between 5 and 480 minutes."),
    "capacity_range": _l("Capacity is between 1 and 10000 places."),
    "span_not_multiple": _l("%(from)s–%(to)s is not a whole number of %(length)s-minute slots."),
    "in_the_past": _l("Slots must start in the future."),
    "overlap": _l("This overlaps an existing slot (%(slot)s)."),
    "too_many_slots": _l("At most %(limit)s slots at once."),
    "range_order": _l("The last day must not be before the first."),
    "range_too_long": _l("At most %(limit)s days at once."),
    "weekdays_required": _l("Choose at least one weekday."),
    "no_hours": _l("Add opening hours first."),
    "capacity_below_booked": _l("%(taken)s places are already booked: the capacity cannot be lower."),
    "slot_ended": _l("This slot has already ended."),
    "code_taken_by_checkpoint": _l("This code belongs to another kind of checkpoint."),
}


class VenueError(Refusal):
    """A refusal by a venues domain function (codes and words below)."""

    messages = MESSAGES


class BookingRefused(VenueError):
    """A booking, cancellation or waiting-list request the rules refuse (HTTP 409 in the API)."""


def error_message(code: str, params: dict | None = None) -> str:
    return VenueError(code, **(params or {})).message


def english_message(error: VenueError) -> str:
    """The CLI's wording (it speaks English whatever the default locale)."""
    return error.english()
