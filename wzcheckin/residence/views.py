"""Residence room, pages: a worker's departure; the enterprise's retention preview, snapshot
figures, subsidy application and production-reward declaration; and the officials' pages to read
the snapshot, review applications and declarations, and read the SMS outbox."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from wzcheckin import clock
from wzcheckin.accounts.lookups import find_worker_by_id_number
from wzcheckin.accounts.models import Worker
from wzcheckin.core import context
from wzcheckin.core.audit import record_audit
from wzcheckin.core.auth import current_enterprise, current_worker, roles_required
from wzcheckin.core.dates import shown
from wzcheckin.core.forms import run_form, show_refusal
from wzcheckin.core.i18n import selected_language
from wzcheckin.core.job_specs import recent_runs
from wzcheckin.core.navigation import RESIDENCE, NavItem
from wzcheckin.core.roles import Role
from wzcheckin.core.sms import outbox_counts
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db
from wzcheckin.residence import appeals, corrections, production, queries, reasons
from wzcheckin.residence.departures import (
    active_departure,
    record_departure,
    recorded_by_enterprise,
    withdraw_departure,
)
from wzcheckin.residence.errors import ResidenceError
from wzcheckin.residence.forms import (
    AppealDecisionForm,
    AppealForm,
    ConfirmForm,
    DecisionForm,
    DepartureForm,
    FoundDepartureForm,
    PaidForm,
    ProductionForm,
)
from wzcheckin.residence.models import (
    Appeal,
    AppealPhoto,
    AppealStatus,
    CorrectionWorker,
    ProductionDeclaration,
    SmsStatus,
    SubsidyApplication,
)
from wzcheckin.residence.subsidies import (
    application_of,
    apply_for_subsidy,
    corrected_figures,
    current_figures,
    decide_application,
    headcount_of,
    mark_paid,
)
from wzcheckin.residence.subsidies import official_snapshot as find_official_snapshot

bp = Blueprint("residence", __name__)

NAV_ITEMS = [
    NavItem((Role.ENTERPRISE_ADMIN,), "residence.enterprise_retention", _l("Retained workers")),
    NavItem((Role.ENTERPRISE_ADMIN,), "residence.enterprise_production", _l("Production reward")),
    NavItem((Role.OFFICIAL,), "residence.official_snapshot", _l("Cutoff snapshot"), group=RESIDENCE),
    NavItem((Role.HR_OFFICIAL,), "residence.official_applications", _l("Subsidy applications"), group=RESIDENCE),
    NavItem((Role.ECONOMY_OFFICIAL,), "residence.official_production", _l("Production reward"), group=RESIDENCE),
    NavItem((Role.OFFICIAL,), "residence.official_sms", _l("SMS outbox"), group=RESIDENCE),
    NavItem((Role.OFFICIAL,), "residence.official_withdrawals", _l("Withdrawn departures"), group=RESIDENCE),
    NavItem((Role.OFFICIAL,), "residence.official_appeals", _l("Appeals"), group=RESIDENCE),
    NavItem((Role.OFFICIAL,), "residence.official_corrections", _l("Corrections"), group=RESIDENCE),
]

PER_PAGE = 50


def _page_number() -> int:
    # Capped: an absurd page number would overflow the OFFSET (SQLite cannot bind it: a 500).
    return max(1, min(request.args.get("page", 1, type=int) or 1, 100_000))


_attach = show_refusal


def _local_cutoff(programme) -> str:
    return shown(programme.cutoff)


# --- the worker -------------------------------------------------------------------------------

def _departure_post(form: DepartureForm, withdraw: ConfirmForm, worker, *, enterprise=None) -> str | None:
    """Record or withdraw a departure from the posted form; the flash message, or None when the
    form is shown again with its errors."""
    programme, now = context.programme(), clock.now()
    if request.form.get("action") == "withdraw":
        if not withdraw.validate_on_submit():
            abort(400)
        try:
            with unit_of_work(db.session):
                withdraw_departure(db.session, programme, worker=worker, actor=current_user, now=now,
                                   enterprise=enterprise, ip=request.remote_addr)
        except ResidenceError as error:
            _attach(form, error)
            return None
        return _("The departure record was withdrawn.")
    if not form.validate_on_submit():
        if not form.csrf_token.errors:  # a date the browser sent badly: say it in our words
            form.departed_on.errors = []
            _attach(form, ResidenceError("date_required", field="departed_on"))
        return None
    try:
        with unit_of_work(db.session):
            record_departure(db.session, programme, worker=worker, departed_on=form.departed_on.data,
                             note=form.note.data or "", actor=current_user, now=now, enterprise=enterprise,
                             ip=request.remote_addr)
    except ResidenceError as error:
        _attach(form, error)
        return None
    return _("The departure is recorded.")


@bp.route("/me/departure", methods=["GET", "POST"])
@roles_required(Role.WORKER)
def worker_departure():
    """A worker records (or withdraws) their own departure from Wenzhou."""
    worker = current_worker()
    form, withdraw = DepartureForm(), ConfirmForm(prefix="withdraw")
    if request.method == "POST":
        message = _departure_post(form, withdraw, worker)
        if message is not None:
            flash(message, "success")
            return redirect(url_for("residence.worker_departure"))
    return render_template("residence/worker_departure.html", form=form, withdraw=withdraw,
                           departure=active_departure(db.session, worker.id),
                           withdrawals=queries.withdrawn_departures(db.session, worker.id),
                           cutoff_passed=clock.now() >= context.programme().cutoff, worker=worker)


# --- the enterprise admin -------------------------------------------------------------------------

@bp.get("/enterprise/retention")
@roles_required(Role.ENTERPRISE_ADMIN)
def enterprise_retention():
    """Before the cutoff: the live preview (projected headcount and tier, who still needs a scan).
    After: the snapshot's figures, the application and its payout status."""
    enterprise = current_enterprise()
    programme = context.programme()
    now = clock.now()
    show = request.args.get("show", "attention")
    if now < programme.cutoff:
        preview = queries.enterprise_preview(db.session, programme, enterprise, now)
        rows = preview.rows if show == "all" else [
            row for row in preview.rows if not row.on_track or row.needs_scan_now or not row.on_roster]
        return render_template("residence/enterprise_retention.html", enterprise=enterprise, preview=preview,
                               rows=rows, show=show, snapshot=None, now=now)
    snapshot = find_official_snapshot(db.session, programme)
    figures = headcount_of(db.session, snapshot, enterprise.id) if snapshot else None
    corrected = corrected_figures(db.session, snapshot, [enterprise.id]).get(enterprise.id) if snapshot else None
    application = application_of(db.session, snapshot, enterprise.id) if snapshot else None
    statuses = None
    if snapshot is not None:
        statuses = queries.worker_status_page(db.session, snapshot.id, credit_code=enterprise.credit_code,
                                              reason=request.args.get("reason") or None, page=_page_number(),
                                              per_page=PER_PAGE)
    return render_template("residence/enterprise_retention.html", enterprise=enterprise, preview=None,
                           snapshot=snapshot, figures=figures, application=application, statuses=statuses,
                           corrected=corrected, can_appeal=appeals.appeals_open(programme, snapshot, now),
                           apply_form=ConfirmForm(prefix="apply"), now=now,
                           in_progress=queries.snapshot_in_progress(db.session, programme))


@bp.post("/enterprise/retention/apply")
@roles_required(Role.ENTERPRISE_ADMIN)
def enterprise_apply():
    enterprise = current_enterprise()
    form = ConfirmForm(prefix="apply")
    if not form.validate_on_submit():
        abort(400)
    try:
        with unit_of_work(db.session):
            apply_for_subsidy(db.session, context.programme(), enterprise=enterprise, actor=current_user,
                              now=clock.now(), ip=request.remote_addr)
        flash(_("Your application is submitted. You will see the decision here."), "success")
    except ResidenceError as error:
        flash(error.message, "error")
    return redirect(url_for("residence.enterprise_retention"))


def _roster_worker(worker_id: int) -> Worker:
    """A worker on the admin's own confirmed roster, or 404 (never trust the id alone)."""
    enterprise = current_enterprise()
    worker = db.session.get(Worker, worker_id)
    if worker is None or worker.enterprise_id != enterprise.id or not worker.employment_confirmed:
        abort(404)
    return worker


@bp.route("/enterprise/workers/<rowid:worker_id>/departure", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE_ADMIN)
def enterprise_departure(worker_id: int):
    """The enterprise admin records (or withdraws) a departure for a worker on its roster."""
    worker = _roster_worker(worker_id)
    form, withdraw = DepartureForm(), ConfirmForm(prefix="withdraw")
    if request.method == "POST":
        message = _departure_post(form, withdraw, worker, enterprise=current_enterprise())
        if message is not None:
            flash(message, "success")
            return redirect(url_for("residence.enterprise_retention"))
    departure = active_departure(db.session, worker.id)
    return render_template("residence/enterprise_departure.html", worker=worker, form=form, withdraw=withdraw,
                           departure=departure, cutoff_passed=clock.now() >= context.programme().cutoff,
                           ours=departure is not None and recorded_by_enterprise(db.session, departure,
                                                                                 current_enterprise()))


def _production_labels(form: ProductionForm, programme) -> None:
    year = production.programme_year(programme)
    form.output_previous_year.label.text = _("Output in %(year)s (yuan)", year=year - 1)
    form.output_q3.label.text = _("Output in Q3 %(year)s (yuan)", year=year - 1)
    form.output_q4.label.text = _("Output in Q4 %(year)s (yuan)", year=year - 1)
    form.output_q1.label.text = _("Output in Q1 %(year)s (yuan)", year=year)


@bp.route("/enterprise/production", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE_ADMIN)
def enterprise_production():
    """P8: declare the output figures; see the rule's verdict and the official's decision."""
    enterprise = current_enterprise()
    programme = context.programme()
    now = clock.now()
    declaration = production.declaration_of(db.session, programme, enterprise.id)
    form = ProductionForm()
    if request.method == "GET" and declaration is not None:
        form.output_previous_year.data = str(declaration.output_previous_year_yuan)
        form.output_q3.data = str(declaration.output_q3_yuan)
        form.output_q4.data = str(declaration.output_q4_yuan)
        form.output_q1.data = str(declaration.output_q1_yuan)
    _production_labels(form, programme)
    if request.method == "POST" and form.validate_on_submit():
        errors = []
        values = {}
        for name in ("output_previous_year", "output_q3", "output_q4", "output_q1"):
            try:
                values[name] = production.parse_yuan(getattr(form, name).data, name)
            except ResidenceError as error:
                errors.append(error)
        for error in errors:
            _attach(form, error)
        if not errors:
            figures = production.OutputFigures(values["output_previous_year"], values["output_q3"],
                                               values["output_q4"], values["output_q1"])
            try:
                with unit_of_work(db.session):
                    production.declare_production(db.session, programme, enterprise=enterprise, figures=figures,
                                                  actor=current_user, now=now, ip=request.remote_addr)
                flash(_("Your declaration is saved. An official will review it."), "success")
                return redirect(url_for("residence.enterprise_production"))
            except ResidenceError as error:
                _attach(form, error)
    year = production.programme_year(programme)
    return render_template(
        "residence/enterprise_production.html", enterprise=enterprise, form=form, declaration=declaration,
        exclusion=production.enterprise_exclusion(programme, enterprise),
        opens_on=production.declarations_open_on(programme), open=programme.local_date(now) >= production.
        declarations_open_on(programme), year=year, days_q1=production.days_in_quarter(year, 1),
        days_h2=production.days_in_quarter(year - 1, 3) + production.days_in_quarter(year - 1, 4))


# --- officials ---------------------------------------------------------------------------------------

@bp.get("/official/residence")
@roles_required(Role.OFFICIAL)
def official_snapshot():
    programme = context.programme()
    snapshot = queries.latest_snapshot(db.session, programme)
    preview = queries.latest_preview(db.session) if snapshot is None else None
    basis = snapshot or preview
    return render_template(
        "residence/official_snapshot.html", snapshot=snapshot, preview=preview,
        districts=queries.district_totals(db.session, basis.id) if basis else [],
        in_progress=queries.snapshot_in_progress(db.session, programme),
        runs=recent_runs(db.session), cutoff_text=_local_cutoff(programme))


def _shown_snapshot(programme):
    snapshot = queries.latest_snapshot(db.session, programme) or queries.latest_preview(db.session)
    return snapshot


@bp.get("/official/residence/enterprises")
@roles_required(Role.OFFICIAL)
def official_enterprises():
    programme = context.programme()
    snapshot = _shown_snapshot(programme)
    district = request.args.get("district") or None
    tiers = [0, *[t.min_retained for t in programme.retention_subsidy.tiers]]
    tier = request.args.get("tier", type=int)
    tier = tier if tier in tiers else None  # only the programme's tiers (an absurd number would overflow)
    search = (request.args.get("q") or "").strip()[:60] or None
    page = queries.headcount_page(db.session, snapshot.id, district=district, tier=tier, search=search,
                                  page=_page_number(), per_page=PER_PAGE) if snapshot else None
    return render_template("residence/official_enterprises.html", snapshot=snapshot, page=page, district=district,
                           tier=tier, q=search or "", tiers=tiers, cutoff_text=_local_cutoff(programme),
                           districts=queries.snapshot_districts(db.session, snapshot.id) if snapshot else [])


@bp.get("/official/residence/workers")
@roles_required(Role.OFFICIAL)
def official_workers():
    programme = context.programme()
    snapshot = _shown_snapshot(programme)
    reason = request.args.get("reason") or None
    if reason not in (None, *reasons.ALL_REASONS):
        reason = None
    credit_code = (request.args.get("credit_code") or "").strip()[:18] or None
    district = request.args.get("district") or None
    page = queries.worker_status_page(db.session, snapshot.id, reason=reason, credit_code=credit_code,
                                      district=district, page=_page_number(),
                                      per_page=PER_PAGE) if snapshot else None
    return render_template("residence/official_workers.html", snapshot=snapshot, page=page, reason=reason,
                           credit_code=credit_code or "", district=district, reason_codes=reasons.ALL_REASONS,
                           cutoff_text=_local_cutoff(programme),
                           districts=queries.snapshot_districts(db.session, snapshot.id) if snapshot else [])


@bp.get("/official/residence/applications")
@roles_required(Role.HR_OFFICIAL)
def official_applications():
    programme = context.programme()
    snapshot = find_official_snapshot(db.session, programme)
    status = request.args.get("status") or None
    if status not in (None, "applied", "approved", "rejected", "paid"):
        status = None
    page = queries.application_page(db.session, snapshot.id, status=status, page=_page_number(),
                                    per_page=PER_PAGE) if snapshot else None
    corrected = corrected_figures(db.session, snapshot, [row.enterprise_id for row in page.items]) if page else {}
    return render_template("residence/official_applications.html", snapshot=snapshot, page=page, status=status,
                           corrected=corrected,
                           decision_form=DecisionForm(), paid_form=PaidForm(), cutoff_text=_local_cutoff(programme))


@bp.post("/official/residence/applications/<rowid:application_id>")
@roles_required(Role.HR_OFFICIAL)
def official_application_action(application_id: int):
    application = db.session.get(SubsidyApplication, application_id)
    if application is None:
        abort(404)
    action = request.form.get("action")
    form = PaidForm() if action == "paid" else DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    if action != "paid" and form.approve.data:
        return _approve_in_the_review_queue("P7", application_id)
    try:
        with unit_of_work(db.session):
            application = db.session.get(SubsidyApplication, application_id)
            if action == "paid":
                mark_paid(db.session, application=application, reference=form.reference.data, actor=current_user,
                          now=clock.now(), ip=request.remote_addr)
                flash(_("Marked as paid."), "success")
            else:
                approve = bool(form.approve.data)
                decide_application(db.session, application=application, approve=approve, reason=form.reason.data,
                                   actor=current_user, now=clock.now(), ip=request.remote_addr)
                flash(_("Application approved.") if approve else _("Application rejected."), "success")
    except ResidenceError as error:
        flash(error.message, "error")
    return redirect(url_for("residence.official_applications", status=request.args.get("status")))


@bp.get("/official/residence/production")
@roles_required(Role.ECONOMY_OFFICIAL)
def official_production():
    programme = context.programme()
    status = request.args.get("status") or None
    if status not in (None, "declared", "approved", "rejected"):
        status = None
    year = production.programme_year(programme)
    page = queries.declaration_page(db.session, year, status=status, page=_page_number(), per_page=PER_PAGE)
    return render_template("residence/official_production.html", page=page, status=status, year=year,
                           decision_form=DecisionForm(), opens_on=production.declarations_open_on(programme))


@bp.post("/official/residence/production/<rowid:declaration_id>")
@roles_required(Role.ECONOMY_OFFICIAL)
def official_production_action(declaration_id: int):
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    if form.approve.data:
        return _approve_in_the_review_queue("P8", declaration_id)
    try:
        with unit_of_work(db.session):
            declaration = db.session.get(ProductionDeclaration, declaration_id)
            if declaration is None:
                abort(404)
            approve = bool(form.approve.data)
            production.decide_declaration(db.session, context.programme(), declaration=declaration, approve=approve,
                                          reason=form.reason.data, actor=current_user, now=clock.now(),
                                          ip=request.remote_addr)
            flash(_("Declaration approved.") if approve else _("Declaration rejected."), "success")
    except ResidenceError as error:
        flash(error.message, "error")
    return redirect(url_for("residence.official_production", status=request.args.get("status")))


def _approve_in_the_review_queue(policy: str, application_id: int):
    """Money is approved in one place only: the review queue, where every risk signal is
    acknowledged with a note and large amounts need a second official (issue 14). Rejecting
    stays possible here."""
    flash(_("Approvals go through the review queue: acknowledge each risk signal there."), "error")
    return redirect(url_for("review.item_page", policy=policy, application_id=application_id))


@bp.get("/official/residence/sms")
@roles_required(Role.OFFICIAL)
def official_sms():
    kind = request.args.get("kind") or None
    if kind not in (None, "p7_qualified", "evidence_reminder", appeals.APPEAL_DECIDED_NOTICE,
                    corrections.WORKER_NOTICE, corrections.ENTERPRISE_NOTICE):
        kind = None
    status = request.args.get("status") or None
    if status not in (None, *[s.value for s in SmsStatus]):
        status = None
    page = queries.outbox_page(db.session, kind=kind, status=status, page=_page_number(), per_page=PER_PAGE)
    return render_template("residence/official_sms.html", page=page, kind=kind, status=status,
                           counts=outbox_counts(db.session), statuses=[s.value for s in SmsStatus])


@bp.get("/official/residence/withdrawals")
@roles_required(Role.OFFICIAL)
def official_withdrawals():
    """Every withdrawn departure: who recorded it, who withdrew it and when (issue 12: an
    employer once withdrew a worker's own record 24 ms after it was made)."""
    withdrawn_by = request.args.get("withdrawn_by") or None
    if withdrawn_by not in (None, *queries.WITHDRAWN_BY_FILTERS):
        withdrawn_by = None
    page = queries.withdrawal_page(db.session, withdrawn_by=withdrawn_by, page=_page_number(), per_page=PER_PAGE)
    return render_template("residence/official_withdrawals.html", page=page, withdrawn_by=withdrawn_by)


# --- appeals and corrections ---------------------------------------------------------------------------

def _photo_bytes(form) -> bytes | None:
    storage = form.photo.data
    if storage is None or not getattr(storage, "filename", ""):
        return None
    return storage.read(context.programme().appeals.photo_max_bytes + 1)


@bp.route("/me/appeals", methods=["GET", "POST"])
@roles_required(Role.WORKER)
def worker_appeals():
    """A worker's appeals with their decisions, and the form to file one within the window."""
    worker = current_worker()
    programme, now = context.programme(), clock.now()
    form = AppealForm()
    if run_form(form, lambda: appeals.file_worker_appeal(
            db.session, programme, worker=worker, reason=form.reason.data, photo=_photo_bytes(form),
            actor=current_user, now=now, ip=request.remote_addr)):
        flash(_("Your appeal is filed. An official will decide; you will be told here and by SMS."), "success")
        return redirect(url_for("residence.worker_appeals"))
    snapshot = find_official_snapshot(db.session, programme)
    outcome = appeals.current_outcome(db.session, snapshot, worker.id) if snapshot else None
    return render_template("residence/worker_appeals.html", form=form, outcome=outcome, snapshot=snapshot,
                           appeals=appeals.worker_appeals(db.session, worker.id),
                           open=appeals.appeals_open(programme, snapshot, now),
                           closes=programme.appeals_close), 422 if form.errors or form.form_errors else 200


@bp.route("/enterprise/appeals", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE_ADMIN)
def enterprise_appeals():
    """The enterprise appeals its headcount, naming the workers of its roster who should count."""
    enterprise = current_enterprise()
    programme, now = context.programme(), clock.now()
    snapshot = find_official_snapshot(db.session, programme)
    form = AppealForm()
    chosen: list[int] = []
    if request.method == "POST":
        chosen = [int(value) for value in request.form.getlist("workers") if value.isdigit()]
    if run_form(form, lambda: appeals.file_enterprise_appeal(
            db.session, programme, enterprise=enterprise, worker_ids=chosen, reason=form.reason.data,
            photo=_photo_bytes(form), actor=current_user, now=now, ip=request.remote_addr)):
        flash(_("Your appeal is filed. An official will decide; you will be told here and by SMS."), "success")
        return redirect(url_for("residence.enterprise_appeals"))
    candidates = appeals.enterprise_unconfirmed(db.session, snapshot, enterprise.id, limit=500) if snapshot else []
    return render_template("residence/enterprise_appeals.html", form=form, enterprise=enterprise, snapshot=snapshot,
                           candidates=candidates, chosen=set(chosen),
                           appeals=appeals.enterprise_appeals(db.session, enterprise.id),
                           figures=current_figures(db.session, snapshot, enterprise.id) if snapshot else None,
                           open=appeals.appeals_open(programme, snapshot, now), closes=programme.appeals_close), \
        422 if form.errors or form.form_errors else 200


@bp.get("/official/residence/appeals")
@roles_required(Role.OFFICIAL)
def official_appeals():
    status = request.args.get("status", "open")
    status = status if status in ("open", "accepted", "rejected") else None
    items = appeals.list_appeals(db.session, AppealStatus(status) if status else None)
    return render_template("residence/official_appeals.html", items=items, status=status,
                           decision_form=AppealDecisionForm())


def _appeal_or_404(appeal_id: int) -> Appeal:
    appeal = db.session.get(Appeal, appeal_id)
    if appeal is None:
        abort(404)
    return appeal


@bp.post("/official/residence/appeals/<rowid:appeal_id>")
@roles_required(Role.OFFICIAL)
def official_appeal_decide(appeal_id: int):
    form = AppealDecisionForm()
    if not form.validate_on_submit():
        abort(400)
    accept = bool(form.accept.data)
    try:
        with unit_of_work(db.session):
            appeals.decide_appeal(db.session, context.programme(), appeal=_appeal_or_404(appeal_id), accept=accept,
                                  reason=form.reason.data, actor=current_user, now=clock.now(),
                                  ip=request.remote_addr)
        flash(_("Appeal accepted: the next correction applies it.") if accept else _("Appeal rejected."), "success")
    except ResidenceError as error:
        flash(error.message, "error")
    return redirect(url_for("residence.official_appeals"))


@bp.get("/official/residence/appeals/<rowid:appeal_id>/photo")
@roles_required(Role.OFFICIAL)
def official_appeal_photo(appeal_id: int):
    """The appeal's photo, as a download with the type read from its bytes (audited)."""
    appeal = _appeal_or_404(appeal_id)
    if db.session.get(AppealPhoto, appeal.id) is None:
        abort(404)
    with unit_of_work(db.session):
        record_audit(db.session, at=clock.now(), actor=current_user, action="residence.appeal.photo_view",
                     target_type="appeal", target_id=appeal_id, ip=request.remote_addr)
    photo = db.session.get(AppealPhoto, appeal_id)
    response = Response(photo.data, mimetype=photo.content_type)
    extension = appeals.PHOTO_EXTENSIONS.get(photo.content_type, "bin")
    response.headers["Content-Disposition"] = f'attachment; filename="appeal-{appeal_id}.{extension}"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/official/residence/corrections", methods=["GET", "POST"])
@roles_required(Role.OFFICIAL)
def official_corrections():
    """The corrections of the official snapshot, newest first, each with its difference; a button
    to run one now, and the form to record a departure found later."""
    programme = context.programme()
    run_form, departure_form = ConfirmForm(prefix="run"), FoundDepartureForm(prefix="departure")
    if request.method == "POST" and request.form.get("action") == "correct":
        if not run_form.validate_on_submit():
            abort(400)
        try:
            with unit_of_work(db.session):
                summary = corrections.correct(db.session, programme, now=clock.now(), created_by="official",
                                              actor=current_user, ip=request.remote_addr)
            if summary["created"]:
                flash(_("Correction %(version)s written: %(n)s worker(s) changed.", version=summary["version"],
                        n=len(summary["changes"])), "success")
            else:
                flash(_("Nothing new has been decided: no new correction."), "success")
        except ResidenceError as error:
            flash(error.message, "error")
        return redirect(url_for("residence.official_corrections"))
    if request.method == "POST":
        if departure_form.validate_on_submit():
            try:
                with unit_of_work(db.session):
                    worker = find_worker_by_id_number(db.session, context.vault(),
                                                      (departure_form.id_number.data or "").strip().upper())
                    if worker is None:
                        raise ResidenceError("worker_not_found", field="id_number")
                    corrections.record_found_departure(
                        db.session, programme, worker=worker, departed_on=departure_form.departed_on.data,
                        note=departure_form.note.data or "", actor=current_user, now=clock.now(),
                        ip=request.remote_addr)
                flash(_("The departure is recorded; the next correction applies it."), "success")
                return redirect(url_for("residence.official_corrections"))
            except ResidenceError as error:
                _attach(departure_form, error)
        else:
            abort(400)
    snapshot = find_official_snapshot(db.session, programme)
    versions = corrections.corrections_of(db.session, snapshot.id) if snapshot else []
    diffs = {}
    if versions:
        rows = db.session.execute(
            sa.select(CorrectionWorker, Worker.name, Worker.id_number_tail)
            .join(Worker, Worker.id == CorrectionWorker.worker_id)
            .where(CorrectionWorker.correction_id.in_([v.id for v in versions[:10]]),
                   CorrectionWorker.changed == sa.true())
            .order_by(CorrectionWorker.worker_id)).all()
        for row, name, tail in rows:
            diffs.setdefault(row.correction_id, []).append((row, name, tail))
    return render_template("residence/official_corrections.html", snapshot=snapshot, versions=versions[:10],
                           diffs=diffs, run_form=run_form, departure_form=departure_form,
                           cutoff_text=_local_cutoff(programme)), 422 if departure_form.errors or \
        departure_form.form_errors else 200


# --- template helpers (namespaced: used by this room's templates) --------------------------------------

APPEAL_STATUS_LABELS = {"open": _l("Appeal open, awaiting decision"), "accepted": _l("Appeal accepted"),
                        "rejected": _l("Appeal rejected")}
APPEAL_KIND_LABELS = {"worker": _l("Worker"), "hukou": _l("Household registration"),
                      "enterprise": _l("Enterprise headcount")}


@bp.app_template_global("residence_appeal_status")
def _appeal_status(code: str) -> str:
    return str(APPEAL_STATUS_LABELS.get(code, code))


@bp.app_template_global("residence_appeal_kind")
def _appeal_kind(code: str) -> str:
    return str(APPEAL_KIND_LABELS.get(code, code))

@bp.app_template_global("residence_reason_label")
def _reason_label(code: str) -> str:
    return reasons.reason_label(code)


@bp.app_template_global("residence_reason_text")
def _reason_text(code: str, windows_missed: int = 0, departed_on=None) -> str:
    return reasons.reason_text(context.programme(), code, windows_missed=windows_missed, departed_on=departed_on,
                               english=selected_language() == "en")


@bp.app_template_global("residence_window_name")
def _window_name(window) -> str:
    return (window.name_en or window.name) if selected_language() == "en" else window.name
