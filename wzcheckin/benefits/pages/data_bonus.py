"""Benefits room, pages: the worker's data bonus and points; carrier staff's claims desk;
officials' overview and the points export."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from wzcheckin import clock
from wzcheckin.accounts.workers import retained_worker_problem
from wzcheckin.benefits import data_bonus as bonus
from wzcheckin.benefits.errors import BenefitRefused
from wzcheckin.benefits.forms import (
    ActionForm,
    CarrierExportForm,
    DataBonusForm,
    PointsExportForm,
    UploadForm,
)
from wzcheckin.benefits.models import ClaimStatus, PointsEntry
from wzcheckin.benefits.pages.base import (
    audit,
    bp,
    csv_download,
    flash_refusal,
    refusal_text,
    uploaded_text,
)
from wzcheckin.benefits.points import points_balance, points_export_csv, points_history, points_reasons
from wzcheckin.core import context
from wzcheckin.core.auth import current_worker, roles_required
from wzcheckin.core.csv_import import CsvFormatError
from wzcheckin.core.forms import action_expired, show_expired
from wzcheckin.core.roles import Role
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db, limiter

# --- the worker --------------------------------------------------------------------------------


def _data_bonus_page(form=None, status: int = 200):
    worker = current_worker()
    programme = context.programme()
    claim = bonus.find_claim(db.session, worker.id)
    derived = bonus.derived_carrier(worker, context.vault(), programme)
    form = form or DataBonusForm(carrier=(claim.carrier if claim else derived))
    blocker = bonus.claim_blocker(db.session, programme, worker, clock.now()) if claim is None else None
    return render_template("benefits/data_bonus.html", worker=worker, claim=claim, derived=derived, form=form,
                           problem=retained_worker_problem(worker), gigabytes=programme.data_bonus.gigabytes,
                           blocker=refusal_text(blocker) if blocker else None, action_form=ActionForm()), status


@bp.get("/me/data-bonus")
@roles_required(Role.WORKER)
def data_bonus_page():
    return _data_bonus_page()


@bp.post("/me/data-bonus")
@roles_required(Role.WORKER)
@limiter.limit("20 per minute")
def data_bonus_claim():
    form = DataBonusForm()
    if not form.validate_on_submit():
        return _data_bonus_page(form, 400)
    worker = current_worker()
    try:
        with unit_of_work(db.session):
            bonus.claim_data_bonus(db.session, context.vault(), context.programme(), worker, clock.now(),
                                   carrier=form.carrier.data or None)
    except BenefitRefused as refusal:
        if refusal.field:
            form.carrier.errors = [refusal_text(refusal)]
            return _data_bonus_page(form, 422)
        flash_refusal(refusal)
        return redirect(url_for("benefits.data_bonus_page"))
    flash(_("Claimed. Your carrier will send the data to your phone."), "success")
    return redirect(url_for("benefits.data_bonus_page"))


@bp.post("/me/data-bonus/carrier")
@roles_required(Role.WORKER)
def data_bonus_carrier():
    form = DataBonusForm()
    if not form.validate_on_submit() or not form.carrier.data:
        form.carrier.errors = [_("Choose your carrier.")]
        return _data_bonus_page(form, 400)
    try:
        with unit_of_work(db.session):
            bonus.change_carrier(db.session, current_worker(), form.carrier.data, clock.now())
    except BenefitRefused as refusal:
        flash_refusal(refusal)
        return redirect(url_for("benefits.data_bonus_page"))
    flash(_("Carrier changed; the claim went to your carrier again."), "success")
    return redirect(url_for("benefits.data_bonus_page"))


@bp.get("/me/points")
@roles_required(Role.WORKER)
def points_page():
    worker = current_worker()
    entries = list(reversed(points_history(db.session, worker.id)))
    return render_template("benefits/points.html", worker=worker, entries=entries,
                           balance=points_balance(db.session, worker.id))


# --- carriers ----------------------------------------------------------------------------------

def _carrier_code() -> str:
    from flask import abort

    code = current_user.carrier
    if code not in bonus.CARRIERS:
        abort(403)  # a carrier account not bound to one of the three carriers sees nothing
    return code


def _carrier_page(upload_form=None, report=None, status: int = 200):
    from flask import request

    carrier = _carrier_code()
    wanted = request.args.get("status")
    status_filter = ClaimStatus(wanted) if wanted in {s.value for s in ClaimStatus} else None
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 10_000))
    claims = bonus.carrier_claims(db.session, carrier, status=status_filter, limit=100, offset=(page - 1) * 100)
    return render_template(
        "benefits/carrier_claims.html", carrier=carrier, counts=bonus.carrier_counts(db.session, carrier),
        claims=claims, status_filter=wanted if status_filter else "", page=page,
        export_form=CarrierExportForm(), upload_form=upload_form or UploadForm(), report=report,
    ), status


@bp.get("/carrier/claims")
@roles_required(Role.CARRIER)
def carrier_claims():
    return _carrier_page()


@bp.post("/carrier/claims/export")
@roles_required(Role.CARRIER)
def carrier_export():
    carrier = _carrier_code()
    form = CarrierExportForm()
    if action_expired(form):
        return redirect(url_for("benefits.carrier_claims"))
    now = clock.now()
    with unit_of_work(db.session):
        export = bonus.export_pending(db.session, context.vault(), carrier, now, only_new=bool(form.only_new.data),
                                    timezone=context.programme().tz)
        # An authorised reveal of full phone numbers: logged with what was revealed, never the numbers.
        audit("data_bonus.export", target_type="carrier", target_id=carrier, now=now,
              details={"claims": len(export.claim_ids), "revealed": ["phone"], "only_new": bool(form.only_new.data),
                       "first_claim": export.claim_ids[0] if export.claim_ids else None,
                       "last_claim": export.claim_ids[-1] if export.claim_ids else None})
    stamp = context.programme().local_date(now).isoformat()
    return csv_download(export.csv_text, f"data-bonus-{carrier}-pending-{stamp}.csv")


@bp.post("/carrier/claims/results")
@roles_required(Role.CARRIER)
def carrier_results():
    carrier = _carrier_code()
    form = UploadForm()
    if not form.validate_on_submit():
        show_expired(form, on=form.file)
        return _carrier_page(form, status=400)
    try:
        text = uploaded_text(form.file)
    except CsvFormatError as exc:
        form.file.errors = [exc.localised()]
        return _carrier_page(form, status=400)
    now = clock.now()

    class _Rejected(Exception):
        pass

    try:
        with unit_of_work(db.session):
            report = bonus.apply_results(db.session, carrier, text, now, actor=current_user._get_current_object())
            if not report.ok:
                raise _Rejected
            audit("data_bonus.results", target_type="carrier", target_id=carrier, now=now,
                  details={"fulfilled": report.fulfilled, "failed": report.failed, "unchanged": report.unchanged})
    except _Rejected:
        with unit_of_work(db.session):  # the refusal is an action too: logged, nothing else written
            audit("data_bonus.results_rejected", target_type="carrier", target_id=carrier, now=now,
                  details={"bad_lines": len(report.errors)})
        return _carrier_page(form, report, status=400)
    except CsvFormatError as exc:
        form.file.errors = [exc.localised()]
        return _carrier_page(form, status=400)
    flash(_("Results recorded: %(fulfilled)s fulfilled, %(failed)s failed, %(unchanged)s unchanged.",
            fulfilled=report.fulfilled, failed=report.failed, unchanged=report.unchanged), "success")
    return redirect(url_for("benefits.carrier_claims"))


# --- officials ---------------------------------------------------------------------------------

@bp.get("/admin/benefits/data-bonus")
@roles_required(Role.OFFICIAL)
def data_bonus_overview():
    return render_template("benefits/data_bonus_overview.html", counts=bonus.programme_counts(db.session))


def _points_form() -> PointsExportForm:
    form = PointsExportForm()
    form.reason.choices = [SelectChoice("", _("All entries"))] + [SelectChoice(r) for r in points_reasons(db.session)]
    return form


@bp.get("/admin/benefits/points")
@roles_required(Role.POLICE_OFFICIAL)
def points_admin():
    totals = db.session.execute(sa.select(
        sa.func.count(PointsEntry.id), sa.func.coalesce(sa.func.sum(PointsEntry.amount), 0),
        sa.func.count(sa.distinct(PointsEntry.worker_id)))).one()
    return render_template("benefits/points_admin.html", form=_points_form(), entries=totals[0], total=totals[1],
                           workers=totals[2])


@bp.post("/admin/benefits/points/export")
@roles_required(Role.POLICE_OFFICIAL)
def points_export():
    form = _points_form()
    if action_expired(form):
        return redirect(url_for("benefits.points_admin"))
    reveal = bool(form.reveal.data)
    reason = form.reason.data or None
    now = clock.now()
    programme = context.programme()
    with unit_of_work(db.session):
        text, count = points_export_csv(db.session, context.vault(), reveal=reveal, reason=reason, tz=programme.tz)
        audit("points.export", target_type="points_ledger", now=now,
              details={"entries": count, "reason": reason, "revealed": ["id_number", "name", "residence_permit_no"]
                       if reveal else []})
    suffix = "full" if reveal else "masked"
    return csv_download(text, f"new-resident-points-{programme.local_date(now).isoformat()}-{suffix}.csv")
