"""Venues room, pages: workers browse, book and show their codes; venue staff see their day;
officials manage venues, opening hours and slots."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from babel.dates import format_skeleton
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from wzcheckin import clock
from wzcheckin.accounts.models import Role
from wzcheckin.codes.context import current_keyring
from wzcheckin.codes.qr import qr_svg
from wzcheckin.core import context
from wzcheckin.core.audit import record_audit
from wzcheckin.core.auth import current_checkpoint, current_worker, roles_required
from wzcheckin.core.dates import parse_iso_day
from wzcheckin.core.navigation import BENEFITS, NavItem, safe_next_url
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db
from wzcheckin.venues import booking, queries, services
from wzcheckin.venues.errors import BookingRefused, VenueError, error_message
from wzcheckin.venues.forms import (
    KIND_LABELS,
    WEEKDAY_LABELS,
    ActionForm,
    CapacityForm,
    CloseSlotForm,
    DaySlotsForm,
    GenerateForm,
    HoursForm,
    VenueForm,
)
from wzcheckin.venues.models import ReservationStatus, Slot, Venue, VenueKind

bp = Blueprint("venues", __name__)

NAV_ITEMS = [
    NavItem((Role.WORKER,), "venues.browse", _l("Book a venue"), order=30),
    NavItem((Role.WORKER,), "venues.my_bookings", _l("My bookings"), order=35),
    NavItem((Role.VENUE_STAFF,), "venues.staff_today", _l("Today's slots"), order=20),
    NavItem((Role.OFFICIAL,), "venues.manage_venues", _l("Venues"), order=40, group=BENEFITS),
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

@bp.app_template_filter("venue_hm")
def _hm(instant: datetime | None) -> str:
    return instant.astimezone(context.programme().tz).strftime("%H:%M") if instant else ""


@bp.app_template_filter("venue_day")
def _day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = context.programme().local_date(value)
    return format_skeleton("MMMEd", value, locale=get_locale())


@bp.app_template_filter("venue_kind")
def _kind(kind) -> str:
    return str(KIND_LABELS.get(VenueKind(kind), kind))


@bp.app_template_filter("reservation_status")
def _status(status) -> str:
    return str(STATUS_LABELS.get(ReservationStatus(status), status))


def notice_text(notice) -> str:
    slot = notice.slot
    params = {"venue": slot.venue.name, "slot": f"{_day(slot.starts_at)} {_hm(slot.starts_at)}–{_hm(slot.ends_at)}",
              "why": str(SKIP_REASONS.get(notice.reason or "", "")) or error_message(notice.reason or "")}
    return str(NOTICE_TEXTS.get(notice.kind, notice.kind)) % params


def _flash_refusal(exc: VenueError) -> None:
    flash(exc.message(), "error")


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
        discounts={v.id: queries.entry_discount_percent(programme, v) for v in venues}, form=ActionForm(),
        here=request.full_path.rstrip("?"),
    )


@bp.post("/venues/slots/<rowid:slot_id>/book")
@roles_required(Role.WORKER)
def book_slot(slot_id: int):
    form = ActionForm()
    fallback = url_for("venues.browse")
    if not form.validate_on_submit():
        flash(_("The form expired; please submit it again."), "error")
        return redirect(_back(fallback))
    try:
        booking.refuse_if_full(db.session, current_worker(), slot_id, clock.now())
        with unit_of_work(db.session):
            reservation = booking.book(db.session, context.programme(), current_worker(), slot_id, clock.now())
            public_id = reservation.public_id
    except BookingRefused as exc:
        if exc.code == "slot_unknown":
            abort(404)
        _flash_refusal(exc)
        return redirect(_back(fallback))
    flash(_("Booked. Show this code at the entrance."), "success")
    return redirect(url_for("venues.reservation", public_id=public_id))


@bp.post("/venues/slots/<rowid:slot_id>/wait")
@roles_required(Role.WORKER)
def wait_for_slot(slot_id: int):
    form = ActionForm()
    fallback = url_for("venues.browse")
    if not form.validate_on_submit():
        flash(_("The form expired; please submit it again."), "error")
        return redirect(_back(fallback))
    try:
        with unit_of_work(db.session):
            booking.join_waitlist(db.session, context.programme(), current_worker(), slot_id, clock.now())
    except BookingRefused as exc:
        if exc.code == "slot_unknown":
            abort(404)
        _flash_refusal(exc)
        return redirect(_back(fallback))
    flash(_("You are on the waiting list. If a place comes free, it is booked for you and shown under "
            "My bookings."), "success")
    return redirect(_back(fallback))


@bp.post("/me/waitlist/<rowid:entry_id>/leave")
@roles_required(Role.WORKER)
def leave_waitlist(entry_id: int):
    if not ActionForm().validate_on_submit():
        flash(_("The form expired; please submit it again."), "error")
        return redirect(url_for("venues.my_bookings"))
    try:
        with unit_of_work(db.session):
            booking.leave_waitlist(db.session, current_worker(), entry_id, clock.now())
    except BookingRefused:
        abort(404)
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
        discount=queries.entry_discount_percent(programme, found.slot.venue), form=ActionForm(),
        can_cancel=found.status is ReservationStatus.BOOKED and found.slot.starts_at > now,
        early_grace=programme.venues.early_grace_minutes, late_grace=programme.venues.late_grace_minutes,
    )


@bp.post("/me/bookings/<public_id>/cancel")
@roles_required(Role.WORKER)
def cancel_reservation(public_id: str):
    if not ActionForm().validate_on_submit():
        flash(_("The form expired; please submit it again."), "error")
        return redirect(url_for("venues.reservation", public_id=public_id))
    try:
        with unit_of_work(db.session):
            booking.cancel(db.session, context.programme(), _own_reservation(public_id), clock.now())
    except BookingRefused as exc:
        _flash_refusal(exc)
        return redirect(url_for("venues.reservation", public_id=public_id))
    flash(_("Booking cancelled: the place goes to someone else."), "info")
    return redirect(url_for("venues.my_bookings"))


# --- venue staff --------------------------------------------------------------------------------

@bp.get("/venue/today")
@roles_required(Role.VENUE_STAFF)
def staff_today():
    """Today's slots at the staff member's own venue: booked, arrived, no-shows."""
    venue = queries.venue_for_checkpoint(db.session, current_checkpoint().id)
    if venue is None:
        abort(403)
    programme, now = context.programme(), clock.now()
    today = programme.local_date(now)
    day = parse_iso_day(request.args.get("date")) or today
    slots = queries.slots_on(db.session, programme, [venue.id], day).get(venue.id, [])
    rows = queries.slot_counts(db.session, programme, slots, now)
    totals = {key: sum(getattr(row, key) for row in rows) for key in ("booked", "arrived", "no_show", "expected")}
    return render_template("venues/staff_today.html", venue=venue, day=day, today=today, rows=rows, totals=totals,
                           now=now, timedelta_day=timedelta(days=1))


# --- officials --------------------------------------------------------------------------------

def _attach(form, exc: VenueError, fields: dict[str, str]) -> None:
    """Show a domain error next to its field (or at the top of the form)."""
    field = getattr(form, fields.get(exc.field or "", exc.field or ""), None)
    if field is not None:
        field.errors = [*field.errors, exc.message()]
    else:
        form.form_errors.append(exc.message())


def _audit(action: str, target_type: str, target_id, details: dict | None = None) -> None:
    record_audit(db.session, at=clock.now(), actor=current_user, action=action, target_type=target_type,
                 target_id=target_id, details=details, ip=request.remote_addr)


@bp.route("/manage/venues", methods=["GET", "POST"])
@roles_required(Role.OFFICIAL)
def manage_venues():
    form = VenueForm()
    # (When validation fails, WTForms has put its errors — an unknown kind — next to the fields.)
    if request.method == "POST" and form.validate_on_submit():
        try:
            with unit_of_work(db.session):
                data = services.parse_venue_row({name: form[name].data for name in services.VENUE_COLUMNS})
                if services.find_venue(db.session, data.code) is not None:
                    raise VenueError("code_exists", "code")  # this form adds; the venue's page edits
                venue, _created = services.upsert_venue(db.session, data, clock.now())
                _audit("venues.create", "venue", venue.code, {"kind": str(venue.kind), "district": venue.district})
                code = venue.code
        except VenueError as exc:
            _attach(form, exc, {})
        else:
            flash(_("Venue saved."), "success")
            return redirect(url_for("venues.manage_venue", code=code))
    venues = queries.browse_venues(db.session)
    return render_template("venues/manage_list.html", venues=venues, form=form)


def _venue_or_404(code: str) -> Venue:
    venue = services.find_venue(db.session, code)
    if venue is None:
        abort(404)
    return venue


def _venue_page(venue: Venue, status: int = 200, **forms):
    programme, now = context.programme(), clock.now()
    venue_form = forms.get("venue_form") or VenueForm(
        formdata=None, code=venue.code, name=venue.name, kind=str(venue.kind), district=venue.district,
        address=venue.address)
    slots = queries.slots_from(db.session, venue, now)
    by_day: dict[date, list] = {}
    for row in queries.slot_counts(db.session, programme, slots, now):
        by_day.setdefault(programme.local_date(row.slot.starts_at), []).append(row)
    return render_template(
        "venues/manage_venue.html", venue=venue, venue_form=venue_form, now=now, by_day=by_day,
        hours=services.opening_hours(db.session, venue), weekday_labels=WEEKDAY_LABELS,
        hours_form=forms.get("hours_form") or HoursForm(formdata=None),
        generate_form=forms.get("generate_form") or GenerateForm(formdata=None),
        day_form=forms.get("day_form") or DaySlotsForm(formdata=None),
        action_form=ActionForm(formdata=None), discount=queries.entry_discount_percent(programme, venue),
    ), status


@bp.get("/manage/venues/<code>")
@roles_required(Role.OFFICIAL)
def manage_venue(code: str):
    return _venue_page(_venue_or_404(code))


@bp.post("/manage/venues/<code>")
@roles_required(Role.OFFICIAL)
def update_venue(code: str):
    venue = _venue_or_404(code)
    form = VenueForm()
    if form.validate_on_submit():
        try:
            with unit_of_work(db.session):
                row = {name: form[name].data for name in services.VENUE_COLUMNS}
                row["code"] = venue.code  # the code is the venue's identity (and its checkpoint's)
                data = services.parse_venue_row(row)
                services.upsert_venue(db.session, data, clock.now())
                _audit("venues.update", "venue", venue.code, {"kind": str(data.kind), "district": data.district})
        except VenueError as exc:
            _attach(form, exc, {})
            return _venue_page(_venue_or_404(code), 422, venue_form=form)
        flash(_("Venue saved."), "success")
        return redirect(url_for("venues.manage_venue", code=code))
    form.form_errors.append(_("The form expired; please submit it again."))
    return _venue_page(venue, 400, venue_form=form)


@bp.post("/manage/venues/<code>/hours")
@roles_required(Role.OFFICIAL)
def add_hours(code: str):
    venue = _venue_or_404(code)
    form = HoursForm()
    if form.validate_on_submit():
        try:
            with unit_of_work(db.session):
                venue = _venue_or_404(code)
                hours = services.add_opening_hours(
                    db.session, venue, weekdays={int(day) for day in form.weekdays.data or []},
                    opens=services.parse_hhmm(form.opens.data, "from"),
                    closes=services.parse_hhmm(form.closes.data, "to"),
                    slot_minutes=_whole(form.slot_minutes.data, "length", "length_range"),
                    capacity=_whole(form.capacity.data, "capacity", "capacity_range"), now=clock.now())
                _audit("venues.hours_add", "venue", venue.code,
                       {"weekdays": hours.weekdays, "opens": str(hours.opens), "closes": str(hours.closes),
                        "slot_minutes": hours.slot_minutes, "capacity": hours.capacity})
        except VenueError as exc:
            _attach(form, exc, {"from": "opens", "to": "closes", "length": "slot_minutes"})
            return _venue_page(_venue_or_404(code), 422, hours_form=form)
        flash(_("Opening hours added. Generate slots from them below."), "success")
        return redirect(url_for("venues.manage_venue", code=code) + "#hours")
    form.form_errors.append(_("Check the weekdays and try again."))
    return _venue_page(venue, 400, hours_form=form)


@bp.post("/manage/venues/<code>/hours/<rowid:hours_id>/delete")
@roles_required(Role.OFFICIAL)
def delete_hours(code: str, hours_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    with unit_of_work(db.session):
        venue = _venue_or_404(code)
        if not services.remove_opening_hours(db.session, venue, hours_id):
            abort(404)
        _audit("venues.hours_remove", "venue", venue.code, {"hours_id": hours_id})
    flash(_("Opening hours removed. Slots already made stay."), "info")
    return redirect(url_for("venues.manage_venue", code=code) + "#hours")


@bp.post("/manage/venues/<code>/generate")
@roles_required(Role.OFFICIAL)
def generate(code: str):
    venue = _venue_or_404(code)
    form = GenerateForm()
    if form.validate_on_submit():
        try:
            with unit_of_work(db.session):
                venue = _venue_or_404(code)
                result = services.generate_slots(
                    db.session, context.programme(), venue, services.parse_day(form.first.data, "first"),
                    services.parse_day(form.last.data, "last"), clock.now())
                _audit("venues.slots_generate", "venue", venue.code,
                       {"first": form.first.data, "last": form.last.data, "created": len(result.created),
                        "skipped": result.skipped})
        except VenueError as exc:
            _attach(form, exc, {})
            return _venue_page(_venue_or_404(code), 422, generate_form=form)
        flash(_("%(created)s slots created; %(skipped)s skipped (already there or already begun).",
                created=len(result.created), skipped=result.skipped), "success")
        return redirect(url_for("venues.manage_venue", code=code) + "#slots")
    form.form_errors.append(_("The form expired; please submit it again."))
    return _venue_page(venue, 400, generate_form=form)


def _whole(raw: str | None, field: str, code: str) -> int:
    text = (raw or "").strip()
    if not text.isdigit():
        raise VenueError(code, field)
    return int(text)


@bp.post("/manage/venues/<code>/slots")
@roles_required(Role.OFFICIAL)
def create_day_slots(code: str):
    venue = _venue_or_404(code)
    form = DaySlotsForm()
    if form.validate_on_submit():
        try:
            with unit_of_work(db.session):
                venue = _venue_or_404(code)
                slots = services.create_slots(
                    db.session, context.programme(), venue, services.parse_day(form.day.data, "date"),
                    services.parse_hhmm(form.start.data, "from"), services.parse_hhmm(form.end.data, "to"),
                    _whole(form.length.data, "length", "length_range"),
                    _whole(form.capacity.data, "capacity", "capacity_range"), clock.now())
                _audit("venues.slots_create", "venue", venue.code,
                       {"date": form.day.data, "from": form.start.data, "to": form.end.data, "slots": len(slots)})
        except VenueError as exc:
            _attach(form, exc, {"date": "day", "from": "start", "to": "end"})
            return _venue_page(_venue_or_404(code), 422, day_form=form)
        flash(_("%(count)s slots created.", count=len(slots)), "success")
        return redirect(url_for("venues.manage_venue", code=code) + "#slots")
    form.form_errors.append(_("The form expired; please submit it again."))
    return _venue_page(venue, 400, day_form=form)


def _slot_or_404(slot_id: int) -> Slot:
    slot = db.session.get(Slot, slot_id)
    if slot is None:
        abort(404)
    return slot


def _slot_page(slot: Slot, status: int = 200, **forms):
    programme, now = context.programme(), clock.now()
    counts = queries.slot_counts(db.session, programme, [slot], now)[0]
    return render_template(
        "venues/manage_slot.html", slot=slot, venue=slot.venue, counts=counts, now=now,
        reservations=queries.slot_reservations(db.session, slot),
        capacity_form=forms.get("capacity_form") or CapacityForm(formdata=None, capacity=str(slot.capacity)),
        close_form=forms.get("close_form") or CloseSlotForm(formdata=None),
    ), status


@bp.get("/manage/slots/<rowid:slot_id>")
@roles_required(Role.OFFICIAL)
def manage_slot(slot_id: int):
    return _slot_page(_slot_or_404(slot_id))


@bp.post("/manage/slots/<rowid:slot_id>/capacity")
@roles_required(Role.OFFICIAL)
def slot_capacity(slot_id: int):
    slot = _slot_or_404(slot_id)
    form = CapacityForm()
    if form.validate_on_submit():
        try:
            with unit_of_work(db.session):
                capacity = _whole(form.capacity.data, "capacity", "capacity_range")
                changed = booking.set_capacity(db.session, context.programme(), slot_id, capacity, clock.now())
                _audit("venues.slot_capacity", "slot", slot_id, {"capacity": capacity, "taken": changed.taken})
        except VenueError as exc:
            _attach(form, exc, {})
            return _slot_page(_slot_or_404(slot_id), 422, capacity_form=form)
        flash(_("Capacity changed."), "success")
        return redirect(url_for("venues.manage_slot", slot_id=slot_id))
    form.form_errors.append(_("The form expired; please submit it again."))
    return _slot_page(slot, 400, capacity_form=form)


@bp.post("/manage/slots/<rowid:slot_id>/close")
@roles_required(Role.OFFICIAL)
def close_slot(slot_id: int):
    slot = _slot_or_404(slot_id)
    form = CloseSlotForm()
    if form.validate_on_submit():
        try:
            with unit_of_work(db.session):
                cancelled = booking.close_slot(db.session, context.programme(), slot_id, form.notice.data or "",
                                               clock.now(), closed_by=current_user)
                _audit("venues.slot_close", "slot", slot_id, {"cancelled": cancelled})
        except VenueError as exc:
            _attach(form, exc, {})
            return _slot_page(_slot_or_404(slot_id), 422, close_form=form)
        flash(_("Slot closed; %(count)s bookings cancelled and their holders notified.", count=cancelled), "info")
        return redirect(url_for("venues.manage_slot", slot_id=slot_id))
    form.form_errors.append(_("The form expired; please submit it again."))
    return _slot_page(slot, 400, close_form=form)
