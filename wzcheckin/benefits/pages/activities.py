"""Benefits room, pages: warmth activities — the worker's list, poster check-in (scanned with the
worker's own phone) and photo check-in; officials' activities, printable posters and check-ins."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from wzcheckin import clock
from wzcheckin.benefits import activities as acts
from wzcheckin.benefits.errors import BenefitRefused
from wzcheckin.benefits.forms import ActivityForm, CheckinForm, PhotoForm
from wzcheckin.benefits.models import ActivityCheckin, ActivityKind
from wzcheckin.benefits.pages.base import audit, bp, flash_refusal, refusal_text
from wzcheckin.codes.context import current_keyring
from wzcheckin.codes.qr import qr_svg
from wzcheckin.core import context
from wzcheckin.core.auth import current_worker, roles_required
from wzcheckin.core.forms import run_form, show_expired
from wzcheckin.core.roles import Role
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db, limiter

# --- workers -----------------------------------------------------------------------------------


def _activity_or_404(public_id: str):
    activity = acts.find_activity(db.session, public_id)
    if activity is None:
        abort(404)
    return activity


@bp.get("/activities")
@roles_required(Role.WORKER)
def activities_list():
    worker = current_worker()
    programme = context.programme()
    now = clock.now()
    checkins = acts.worker_checkins(db.session, worker.id)
    return render_template("benefits/activities.html", activities=acts.list_activities(db.session, programme, now),
                           checkins=checkins, done={c.activity_id for c in checkins},
                           today=programme.local_date(now))


@bp.get("/activities/<public_id>")
@roles_required(Role.WORKER)
def activity_page(public_id: str, form=None, status: int = 200):
    activity = _activity_or_404(public_id)
    worker = current_worker()
    checkin = acts.find_checkin(db.session, activity.id, worker.id)
    return render_template("benefits/activity.html", activity=activity, checkin=checkin,
                           form=form or PhotoForm(), today=context.programme().local_date(clock.now())), status


@bp.post("/activities/<public_id>/photo")
@roles_required(Role.WORKER)
@limiter.limit("10 per minute")
def activity_photo(public_id: str):
    activity = _activity_or_404(public_id)
    form = PhotoForm()
    if not form.validate_on_submit():
        show_expired(form, on=form.photo)
        return activity_page(public_id, form, 400)
    storage = form.photo.data
    data = storage.read(acts.PHOTO_MAX_BYTES + 1) if storage is not None and storage.filename else b""
    try:
        with unit_of_work(db.session):
            acts.photo_checkin(db.session, context.programme(), activity, current_worker(), data, clock.now())
    except BenefitRefused as refusal:
        if refusal.field:
            form.photo.errors = [refusal_text(refusal)]
            return activity_page(public_id, form, refusal.status if refusal.status in (413, 415, 422) else 400)
        flash_refusal(refusal)
        return redirect(url_for("benefits.activity_page", public_id=public_id))
    flash(_("Checked in! Your gift: %(gift)s", gift=activity.gift), "success")
    return redirect(url_for("benefits.activity_page", public_id=public_id))


def _checkin_page(form, status=200, activity=None, code=None):
    return render_template("benefits/checkin.html", form=form, activity=activity, code=code), status


@bp.route("/me/checkin", methods=["GET", "POST"])
@roles_required(Role.WORKER)
@limiter.limit("30 per minute", methods=["POST"])
def checkin_page():
    """Check in at a landmark: the code from the poster, scanned by the phone's camera (the page's
    script) or pasted; a poster link opened by the camera app lands on ``poster_landing``."""
    form = CheckinForm()
    if request.method == "GET":
        return _checkin_page(form)
    if not form.validate_on_submit():
        show_expired(form, on=form.code)
        return _checkin_page(form, 400)
    return _record_poster_checkin(form, form.code.data)


def _record_poster_checkin(form, text):
    try:
        with unit_of_work(db.session):
            checkin = acts.poster_checkin(db.session, context.programme(), current_keyring(), current_worker(),
                                          text, clock.now())
            activity = checkin.activity
    except BenefitRefused as refusal:
        form.code.errors = [refusal_text(refusal)]
        return _checkin_page(form, 409 if refusal.code == "already_checked_in" else 422)
    flash(_("Checked in at %(title)s! Your gift: %(gift)s", title=activity.title, gift=activity.gift), "success")
    return redirect(url_for("benefits.activities_list"))


@bp.route("/c/<code>", methods=["GET", "POST"])
@roles_required(Role.WORKER)
def poster_landing(code: str):
    """Where a poster's QR link leads: confirm, then check in."""
    form = CheckinForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            show_expired(form, on=form.code)
            return _checkin_page(form, 400, code=code)
        return _record_poster_checkin(form, code)
    try:
        activity = acts.resolve_poster(db.session, current_keyring(), code, clock.now())
    except BenefitRefused as refusal:
        form.code.errors = [refusal_text(refusal)]
        return _checkin_page(form, 404)
    return _checkin_page(form, activity=activity, code=code)


@bp.get("/me/photos/<public_id>")
@roles_required(Role.WORKER, Role.OFFICIAL)
def photo(public_id: str):
    found = acts.find_photo(db.session, public_id)
    if found is None:
        abort(404)
    if current_user.role is Role.WORKER and found.worker_id != current_worker().id:
        abort(404)
    if current_user.role is Role.OFFICIAL:
        with unit_of_work(db.session):
            audit("activity.photo_view", target_type="activity_photo", target_id=found.public_id)
        found = acts.find_photo(db.session, public_id)
    # Only the content type detected from the bytes at upload (a JPEG, PNG or WebP), a sandbox
    # CSP and nosniff: a file that claims to be HTML never runs as a page.
    response = Response(found.data, mimetype=found.content_type)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Content-Disposition"] = f'inline; filename="checkin-{found.public_id}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- officials ---------------------------------------------------------------------------------

@bp.get("/admin/benefits/activities")
@roles_required(Role.OFFICIAL)
def activities_admin():
    programme = context.programme()
    items = acts.list_activities(db.session, programme, clock.now(), include_past=True)
    return render_template("benefits/activities_admin.html", activities=items,
                           counts=acts.checkin_counts(db.session, [a.id for a in items]))


def _activity_form() -> ActivityForm:
    form = ActivityForm()
    form.gift_activity.choices = [SelectChoice("", _("(none)"))] + [
        SelectChoice(name) for name in context.programme().activities.gift_activities]
    return form


def _activity_form_view(activity=None):
    form = _activity_form()
    if request.method == "GET" and activity is not None:
        for name in ("title", "title_en", "gift", "gift_activity", "district", "place", "starts_on", "ends_on",
                     "description"):
            getattr(form, name).data = getattr(activity, name)
        form.kind.data = activity.kind.value

    def save() -> None:
        now = clock.now()
        data = acts.ActivityInput(
            title=form.title.data or "", title_en=form.title_en.data or "", kind=form.kind.data or "",
            gift=form.gift.data or "", gift_activity=form.gift_activity.data or "",
            description=form.description.data or "", district=form.district.data or "",
            place=form.place.data or "", starts_on=form.starts_on.data, ends_on=form.ends_on.data)
        values = acts.clean_activity(data, context.programme())
        saved = acts.save_activity(db.session, values, now, activity)
        audit("activity.update" if activity else "activity.create", target_type="activity",
              target_id=saved.public_id, now=now, details={"kind": saved.kind.value})

    if run_form(form, save):
        flash(_("Activity saved."), "success")
        return redirect(url_for("benefits.activities_admin"))
    return render_template("benefits/activity_form.html", form=form, activity=activity), (
        400 if request.method == "POST" else 200)


@bp.route("/admin/benefits/activities/new", methods=["GET", "POST"])
@roles_required(Role.OFFICIAL)
def activity_new():
    return _activity_form_view()


@bp.route("/admin/benefits/activities/<public_id>/edit", methods=["GET", "POST"])
@roles_required(Role.OFFICIAL)
def activity_edit(public_id: str):
    return _activity_form_view(_activity_or_404(public_id))


@bp.get("/admin/benefits/activities/<public_id>")
@roles_required(Role.OFFICIAL)
def activity_checkins(public_id: str):
    import sqlalchemy as sa

    activity = _activity_or_404(public_id)
    checkins = list(db.session.scalars(sa.select(ActivityCheckin).where(ActivityCheckin.activity_id == activity.id)
                                       .order_by(ActivityCheckin.checked_in_at).limit(1000)))
    return render_template("benefits/activity_checkins.html", activity=activity, checkins=checkins)


@bp.get("/admin/benefits/activities/<public_id>/poster")
@roles_required(Role.OFFICIAL)
def activity_poster(public_id: str):
    activity = _activity_or_404(public_id)
    if activity.kind is not ActivityKind.LANDMARK:
        abort(404)
    token = acts.poster_token(activity, current_keyring(), context.programme())
    link = url_for("benefits.poster_landing", code=token, _external=True)
    with unit_of_work(db.session):
        audit("activity.poster", target_type="activity", target_id=activity.public_id)
    activity = _activity_or_404(public_id)
    return render_template("benefits/poster.html", activity=activity, qr=qr_svg(link, title=activity.title),
                           link=link, code=token)
