"""Venues room, the workers' pages: browse venues and slots, book, wait for a place, show the
booking's code, cancel."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from wzcheckin import clock
from wzcheckin.codes.context import current_keyring
from wzcheckin.codes.qr import qr_svg
from wzcheckin.core import context
from wzcheckin.core.auth import current_worker, roles_required
from wzcheckin.core.dates import parse_iso_day
from wzcheckin.core.forms import run_action
from wzcheckin.core.navigation import safe_next_url
from wzcheckin.core.roles import Role
from wzcheckin.extensions import db
from wzcheckin.venues import booking, queries
from wzcheckin.venues.forms import KIND_LABELS, ActionForm
from wzcheckin.venues.models import ReservationStatus, VenueKind
from wzcheckin.venues.views import WHY_NOT_ELIGIBLE, bp, notice_text


def _back(default: str) -> str:
    return safe_next_url(request.form.get("next")) or default


# --- workers ----------------------------------------------------------------------------------

@bp.get("/venues")
@roles_required(Role.WORKER)
def browse():
    """Browse by district, kind and date; each slot shows its places left."""
    worker = current_worker()
    programme, now = context.programme(), clock.now()
    dates = queries.booking_dates(programme, now)
    day = parse_iso_day(request.args.get("date"))
    if day not in dates:
        day = dates[0]
    all_districts = queries.districts(db.session)
    district = request.args.get("district", "")
    district = district if district in all_districts else ""
    kind_arg = request.args.get("kind", "")
    kind = VenueKind(kind_arg) if kind_arg in {k.value for k in VenueKind} else None
    venues = queries.browse_venues(db.session, district=district or None, kind=kind)
    slots = queries.slots_on(db.session, programme, [v.id for v in venues if v.bookable], day)
    states = queries.worker_slot_states(db.session, worker.id, [s.id for found in slots.values() for s in found])
    why = booking.ineligibility(worker)
    return render_template(
        "venues/browse.html", venues=venues, slots=slots, states=states, day=day, dates=dates,
        districts=all_districts, district=district, kind=kind, kinds=KIND_LABELS, now=now,
        not_eligible=WHY_NOT_ELIGIBLE.get(why) if why else None,
        suspended_until=booking.suspended_until(db.session, programme, worker.id, now),
        offers={v.id: queries.entry_offer(programme, v) for v in venues}, form=ActionForm(),
        here=request.full_path.rstrip("?"),
    )


@bp.post("/venues/slots/<rowid:slot_id>/book")
@roles_required(Role.WORKER)
def book_slot(slot_id: int):
    worker, now = current_worker(), clock.now()
    # A full slot is refused before the write transaction: no write lock for a hopeless click.
    done = run_action(ActionForm(), lambda: booking.book(db.session, context.programme(), worker, slot_id, now).public_id,
                      check=lambda: booking.refuse_if_full(db.session, worker, slot_id, now))
    if done.refusal is not None and done.refusal.code == "slot_unknown":
        abort(404)
    if not done:
        return redirect(_back(url_for("venues.browse")))
    flash(_("Booked. Show this code at the entrance."), "success")
    return redirect(url_for("venues.reservation", public_id=done.value))


@bp.post("/venues/slots/<rowid:slot_id>/wait")
@roles_required(Role.WORKER)
def wait_for_slot(slot_id: int):
    done = run_action(ActionForm(), lambda: booking.join_waitlist(db.session, context.programme(), current_worker(),
                                                                  slot_id, clock.now()))
    if done.refusal is not None and done.refusal.code == "slot_unknown":
        abort(404)
    if done:
        flash(_("You are on the waiting list. If a place comes free, it is booked for you and shown under "
                "My bookings."), "success")
    return redirect(_back(url_for("venues.browse")))


@bp.post("/me/waitlist/<rowid:entry_id>/leave")
@roles_required(Role.WORKER)
def leave_waitlist(entry_id: int):
    done = run_action(ActionForm(), lambda: booking.leave_waitlist(db.session, current_worker(), entry_id, clock.now()))
    if done.refusal is not None:
        abort(404)
    if done:
        flash(_("You have left the waiting list."), "info")
    return redirect(url_for("venues.my_bookings"))


@bp.get("/me/bookings")
@roles_required(Role.WORKER)
def my_bookings():
    worker = current_worker()
    programme, now = context.programme(), clock.now()
    found = queries.worker_bookings(db.session, programme, worker.id, now)
    return render_template(
        "venues/bookings.html", bookings=found, now=now, notices=[notice_text(n) for n in found.notices],
        suspended_until=booking.suspended_until(db.session, programme, worker.id, now), form=ActionForm(),
    )


def _own_reservation(public_id: str):
    reservation = booking.find_reservation(db.session, public_id)
    if reservation is None or reservation.worker_id != current_worker().id:
        abort(404)  # someone else's booking does not exist for you
    return reservation


@bp.get("/me/bookings/<public_id>")
@roles_required(Role.WORKER)
def reservation(public_id: str):
    found = _own_reservation(public_id)
    programme, now = context.programme(), clock.now()
    code = None
    if found.status is ReservationStatus.BOOKED and now < booking.redeemable_until(programme, found.slot):
        code = booking.reservation_code(current_keyring(), programme, found)
    return render_template(
        "venues/reservation.html", reservation=found, slot=found.slot, venue=found.slot.venue, now=now,
        code=code, svg=qr_svg(code.token, title=_("Booking code")) if code else None,
        offer=queries.entry_offer(programme, found.slot.venue), form=ActionForm(),
        can_cancel=found.status is ReservationStatus.BOOKED and found.slot.starts_at > now,
        early_grace=programme.venues.early_grace_minutes, late_grace=programme.venues.late_grace_minutes,
    )


@bp.post("/me/bookings/<public_id>/cancel")
@roles_required(Role.WORKER)
def cancel_reservation(public_id: str):
    done = run_action(ActionForm(), lambda: booking.cancel(db.session, context.programme(), _own_reservation(public_id),
                                                           clock.now()))
    if not done:
        return redirect(url_for("venues.reservation", public_id=public_id))
    flash(_("Booking cancelled: the place goes to someone else."), "info")
    return redirect(url_for("venues.my_bookings"))
