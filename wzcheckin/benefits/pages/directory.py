"""Benefits room, pages: the services directory — anyone browses by district and kind;
officials add, edit and withdraw listings."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from wzcheckin import clock
from wzcheckin.benefits import directory
from wzcheckin.benefits.forms import ActionForm, ServiceForm
from wzcheckin.benefits.models import ServiceListing
from wzcheckin.benefits.pages.base import audit, bp
from wzcheckin.core import context
from wzcheckin.core.auth import public, roles_required
from wzcheckin.core.forms import action_expired, run_form
from wzcheckin.core.roles import Role
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db


@bp.get("/services")
@public
def services_list():
    district = (request.args.get("district") or "").strip()[:50]
    kind = request.args.get("kind") or ""
    open_today = request.args.get("open") == "today"
    today = context.programme().local_date(clock.now())
    listings = directory.browse_services(db.session, district=district or None, kind=kind or None,
                                         on=today if open_today else None)
    return render_template("benefits/services.html", listings=listings, district=district, kind=kind,
                           districts=directory.service_districts(db.session), open_today=open_today, today=today,
                           signed_in=current_user.is_authenticated)


@bp.get("/admin/benefits/services")
@roles_required(Role.OFFICIAL)
def services_admin():
    return render_template("benefits/services_admin.html", form=ActionForm(),
                           listings=directory.browse_services(db.session, include_withdrawn=True))


def _service_form_view(listing: ServiceListing | None):
    form = ServiceForm()
    if request.method == "GET" and listing is not None:
        for name in ("name", "district", "address", "hours", "contact", "opens_on", "closes_on", "notes"):
            getattr(form, name).data = getattr(listing, name)
        form.kind.data = listing.kind.value

    def save() -> None:
        now = clock.now()
        data = directory.ServiceInput(
            kind=form.kind.data or "", name=form.name.data or "", district=form.district.data or "",
            address=form.address.data or "", hours=form.hours.data or "", contact=form.contact.data or "",
            opens_on=form.opens_on.data, closes_on=form.closes_on.data, notes=form.notes.data or "")
        values = directory.clean_service(data)
        saved = directory.save_service(db.session, values, now, listing=listing, actor=current_user._get_current_object())
        audit("service.update" if listing else "service.create", target_type="service_listing", target_id=saved.id,
              now=now, details={"kind": saved.kind.value})

    if run_form(form, save):
        flash(_("Listing saved."), "success")
        return redirect(url_for("benefits.services_admin"))
    return render_template("benefits/service_form.html", form=form, listing=listing), (
        400 if request.method == "POST" else 200)


@bp.route("/admin/benefits/services/new", methods=["GET", "POST"])
@roles_required(Role.OFFICIAL)
def service_new():
    return _service_form_view(None)


@bp.route("/admin/benefits/services/<rowid:listing_id>/edit", methods=["GET", "POST"])
@roles_required(Role.OFFICIAL)
def service_edit(listing_id: int):
    listing = db.session.get(ServiceListing, listing_id)
    if listing is None:
        abort(404)
    return _service_form_view(listing)


@bp.post("/admin/benefits/services/<rowid:listing_id>/withdraw")
@roles_required(Role.OFFICIAL)
def service_withdraw(listing_id: int):
    if action_expired(ActionForm()):
        return redirect(url_for("benefits.services_admin"))
    now = clock.now()
    with unit_of_work(db.session):
        listing = db.session.get(ServiceListing, listing_id)
        if listing is None:
            abort(404)
        directory.withdraw_service(db.session, listing, now, actor=current_user._get_current_object())
        audit("service.withdraw", target_type="service_listing", target_id=listing_id, now=now)
    flash(_("Listing withdrawn."), "success")
    return redirect(url_for("benefits.services_admin"))
