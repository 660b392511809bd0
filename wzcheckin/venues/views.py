"""Venues room, pages: the blueprint, its menu entries and the display helpers every venues page
shares. The pages themselves, by whom they serve: ``booking_pages`` (workers browse, book and
show their codes), ``door_pages`` (venue staff see their day), ``manage_pages`` (officials
manage venues, opening hours and slots)."""

from __future__ import annotations

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from wzcheckin.core.dates import shown
from wzcheckin.core.navigation import BENEFITS, NavItem
from wzcheckin.core.roles import Role
from wzcheckin.venues.errors import error_message
from wzcheckin.venues.forms import KIND_LABELS
from wzcheckin.venues.models import ReservationStatus, VenueKind

bp = Blueprint("venues", __name__)

NAV_ITEMS = [
    NavItem((Role.WORKER,), "venues.browse", _l("Book a venue")),
    NavItem((Role.WORKER,), "venues.my_bookings", _l("My bookings")),
    NavItem((Role.VENUE_STAFF,), "venues.staff_today", _l("Today's slots")),
    NavItem((Role.OFFICIAL,), "venues.manage_venues", _l("Venues"), group=BENEFITS),
]

NOTICE_TEXTS = {
    "slot_closed": _l("%(venue)s, %(slot)s was closed and your booking cancelled."),
    "waitlist_booked": _l("A place came free: you are booked for %(venue)s, %(slot)s."),
    "waitlist_skipped": _l("A place came free at %(venue)s, %(slot)s, but we could not book it for you: %(why)s"),
}
# Why a waiting-list place could not be booked (the refusal's own message needs parameters the
# notice does not keep).
SKIP_REASONS = {
    "not_eligible": _l("only workers from outside Wenzhou who pledged to stay may book."),
    "suspended": _l("booking is suspended after repeated missed bookings."),
    "limit_reached": _l("you already have the most upcoming bookings allowed."),
}
WHY_NOT_ELIGIBLE = {
    "not_pledged": _l("Pledge to stay in Wenzhou over the festival to book."),
    "wenzhou_hukou": _l("Free venue entry is for workers whose household registration is outside Wenzhou."),
}
STATUS_LABELS = {
    ReservationStatus.BOOKED: _l("Booked"),
    ReservationStatus.REDEEMED: _l("Used"),
    ReservationStatus.CANCELLED: _l("Cancelled"),
    ReservationStatus.NO_SHOW: _l("Missed"),
}


# --- display helpers (template filters) ------------------------------------------------------------

@bp.app_template_filter("venue_kind")
def _kind(kind) -> str:
    return str(KIND_LABELS.get(VenueKind(kind), kind))


@bp.app_template_filter("reservation_status")
def _status(status) -> str:
    return str(STATUS_LABELS.get(ReservationStatus(status), status))


def notice_text(notice) -> str:
    slot = notice.slot
    params = {"venue": slot.venue.name, "slot": f"{shown(slot.starts_at)}–{shown(slot.ends_at, 'time')}",
              "why": str(SKIP_REASONS.get(notice.reason or "", "")) or error_message(notice.reason or "")}
    return str(NOTICE_TEXTS.get(notice.kind, notice.kind)) % params




# The pages, on this blueprint (imported last: they import ``bp`` from here).
from wzcheckin.venues import booking_pages, door_pages, manage_pages  # noqa: E402, F401
