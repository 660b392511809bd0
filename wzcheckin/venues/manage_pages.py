"""Venues room, the officials' pages: venues, their opening hours, and the time slots made
from them; one slot's capacity and closing."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from wzcheckin import clock
from wzcheckin.core import context
from wzcheckin.core.audit import record_audit
from wzcheckin.core.auth import roles_required
from wzcheckin.core.forms import run_form
from wzcheckin.core.roles import Role
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db
from wzcheckin.venues import booking, queries, services
from wzcheckin.venues.errors import VenueError
from wzcheckin.venues.forms import (
    WEEKDAY_LABELS,
    ActionForm,
    CapacityForm,
    CloseSlotForm,
    DaySlotsForm,
    GenerateForm,
    HoursForm,
    VenueForm,
)
from wzcheckin.venues.models import Slot, Venue
from wzcheckin.venues.views import bp


def _audit(action: str, target_type: str, target_id, details: dict | None = None) -> None:
    record_audit(db.session, at=clock.now(), actor=current_user, action=action, target_type=target_type,
                 target_id=target_id, details=details, ip=request.remote_addr)


@bp.route("/manage/venues", methods=["GET", "POST"])
@roles_required(Role.OFFICIAL)
def manage_venues():
    form = VenueForm()

    def create() -> str:
        data = services.parse_venue_row({name: form[name].data for name in services.VENUE_COLUMNS})
        if services.find_venue(db.session, data.code) is not None:
            raise VenueError("code_exists", "code")  # this form adds; the venue's page edits
        venue, _created = services.upsert_venue(db.session, data, clock.now())
        _audit("venues.create", "venue", venue.code, {"kind": str(venue.kind), "district": venue.district})
        return venue.code

    # (When validation fails, WTForms has put its errors — an unknown kind — next to the fields.)
    done = run_form(form, create)
    if done:
        flash(_("Venue saved."), "success")
        return redirect(url_for("venues.manage_venue", code=done.value))
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
        action_form=ActionForm(formdata=None), offer=queries.entry_offer(programme, venue),
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

    def update() -> None:
        row = {name: form[name].data for name in services.VENUE_COLUMNS}
        row["code"] = venue.code  # the code is the venue's identity (and its checkpoint's)
        data = services.parse_venue_row(row)
        services.upsert_venue(db.session, data, clock.now())
        _audit("venues.update", "venue", venue.code, {"kind": str(data.kind), "district": data.district})

    done = run_form(form, update)
    if done:
        flash(_("Venue saved."), "success")
        return redirect(url_for("venues.manage_venue", code=code))
    return _venue_page(_venue_or_404(code), done.status, venue_form=form)


@bp.post("/manage/venues/<code>/hours")
@roles_required(Role.OFFICIAL)
def add_hours(code: str):
    form = HoursForm()

    def add() -> None:
        venue = _venue_or_404(code)
        hours = services.add_opening_hours(
            db.session, venue, weekdays={int(day) for day in form.weekdays.data or []},
            opens=services.parse_hhmm(form.opens.data, "from"), closes=services.parse_hhmm(form.closes.data, "to"),
            slot_minutes=_whole(form.slot_minutes.data, "length", "length_range"),
            capacity=_whole(form.capacity.data, "capacity", "capacity_range"), now=clock.now())
        _audit("venues.hours_add", "venue", venue.code,
               {"weekdays": hours.weekdays, "opens": str(hours.opens), "closes": str(hours.closes),
                "slot_minutes": hours.slot_minutes, "capacity": hours.capacity})

    done = run_form(form, add, fields={"from": "opens", "to": "closes", "length": "slot_minutes"})
    if done:
        flash(_("Opening hours added. Generate slots from them below."), "success")
        return redirect(url_for("venues.manage_venue", code=code) + "#hours")
    if done.status == 400 and not form.form_errors:
        form.form_errors.append(_("Check the weekdays and try again."))
    return _venue_page(_venue_or_404(code), done.status, hours_form=form)


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
    form = GenerateForm()

    def generate_slots():
        venue = _venue_or_404(code)
        result = services.generate_slots(
            db.session, context.programme(), venue, services.parse_day(form.first.data, "first"),
            services.parse_day(form.last.data, "last"), clock.now())
        _audit("venues.slots_generate", "venue", venue.code,
               {"first": form.first.data, "last": form.last.data, "created": len(result.created),
                "skipped": result.skipped})
        return result

    done = run_form(form, generate_slots)
    if done:
        flash(_("%(created)s slots created; %(skipped)s skipped (already there or already begun).",
                created=len(done.value.created), skipped=done.value.skipped), "success")
        return redirect(url_for("venues.manage_venue", code=code) + "#slots")
    return _venue_page(_venue_or_404(code), done.status, generate_form=form)


def _whole(raw: str | None, field: str, code: str) -> int:
    text = (raw or "").strip()
    if not text.isdigit():
        raise VenueError(code, field)
    return int(text)


@bp.post("/manage/venues/<code>/slots")
@roles_required(Role.OFFICIAL)
def create_day_slots(code: str):
    form = DaySlotsForm()

    def create() -> int:
        venue = _venue_or_404(code)
        slots = services.create_slots(
            db.session, context.programme(), venue, services.parse_day(form.day.data, "date"),
            services.parse_hhmm(form.start.data, "from"), services.parse_hhmm(form.end.data, "to"),
            _whole(form.length.data, "length", "length_range"),
            _whole(form.capacity.data, "capacity", "capacity_range"), clock.now())
        _audit("venues.slots_create", "venue", venue.code,
               {"date": form.day.data, "from": form.start.data, "to": form.end.data, "slots": len(slots)})
        return len(slots)

    done = run_form(form, create, fields={"date": "day", "from": "start", "to": "end"})
    if done:
        flash(_("%(count)s slots created.", count=done.value), "success")
        return redirect(url_for("venues.manage_venue", code=code) + "#slots")
    return _venue_page(_venue_or_404(code), done.status, day_form=form)


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
    _slot_or_404(slot_id)
    form = CapacityForm()

    def change() -> None:
        capacity = _whole(form.capacity.data, "capacity", "capacity_range")
        changed = booking.set_capacity(db.session, context.programme(), slot_id, capacity, clock.now())
        _audit("venues.slot_capacity", "slot", slot_id, {"capacity": capacity, "taken": changed.taken})

    done = run_form(form, change)
    if done:
        flash(_("Capacity changed."), "success")
        return redirect(url_for("venues.manage_slot", slot_id=slot_id))
    return _slot_page(_slot_or_404(slot_id), done.status, capacity_form=form)


@bp.post("/manage/slots/<rowid:slot_id>/close")
@roles_required(Role.OFFICIAL)
def close_slot(slot_id: int):
    _slot_or_404(slot_id)
    form = CloseSlotForm()

    def close() -> int:
        cancelled = booking.close_slot(db.session, context.programme(), slot_id, form.notice.data or "", clock.now(),
                                       closed_by=current_user)
        _audit("venues.slot_close", "slot", slot_id, {"cancelled": cancelled})
        return cancelled

    done = run_form(form, close)
    if done:
        flash(_("Slot closed; %(count)s bookings cancelled and their holders notified.", count=done.value), "info")
        return redirect(url_for("venues.manage_slot", slot_id=slot_id))
    return _slot_page(_slot_or_404(slot_id), done.status, close_form=form)
