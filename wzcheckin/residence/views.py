"""Residence room, pages: a worker's departure; the enterprise's retention preview, snapshot
figures, subsidy application and production-reward declaration; and the officials' pages to read
the snapshot, review applications and declarations, and read the SMS outbox."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from wzcheckin import clock
from wzcheckin.accounts.models import Role, Worker
from wzcheckin.core import context
from wzcheckin.core.auth import current_enterprise, current_worker, roles_required
from wzcheckin.core.navigation import RESIDENCE, NavItem
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db
from wzcheckin.residence import production, queries, reasons
from wzcheckin.residence.departures import (
    active_departure,
    record_departure,
    recorded_by_enterprise,
    withdraw_departure,
)
from wzcheckin.residence.errors import ResidenceError
from wzcheckin.residence.forms import ConfirmForm, DecisionForm, DepartureForm, PaidForm, ProductionForm
from wzcheckin.residence.models import ProductionDeclaration, SmsStatus, SubsidyApplication
from wzcheckin.residence.subsidies import (
    application_of,
    apply_for_subsidy,
    decide_application,
    headcount_of,
    mark_paid,
)
from wzcheckin.residence.subsidies import official_snapshot as find_official_snapshot

bp = Blueprint("residence", __name__)

NAV_ITEMS = [
    NavItem((Role.ENTERPRISE_ADMIN,), "residence.enterprise_retention", _l("Retained workers"), order=40),
    NavItem((Role.ENTERPRISE_ADMIN,), "residence.enterprise_production", _l("Production reward"), order=45),
    NavItem((Role.OFFICIAL,), "residence.official_snapshot", _l("Cutoff snapshot"), order=40, group=RESIDENCE),
    NavItem((Role.OFFICIAL,), "residence.official_applications", _l("Subsidy applications"), order=41, group=RESIDENCE),
    NavItem((Role.OFFICIAL,), "residence.official_production", _l("Production reward"), order=42, group=RESIDENCE),
    NavItem((Role.OFFICIAL,), "residence.official_sms", _l("SMS outbox"), order=43, group=RESIDENCE),
    NavItem((Role.OFFICIAL,), "residence.official_withdrawals", _l("Withdrawn departures"), order=44, group=RESIDENCE),
]

PER_PAGE = 50


def _page_number() -> int:
    # Capped: an absurd page number would overflow the OFFSET (SQLite cannot bind it: a 500).
    return max(1, min(request.args.get("page", 1, type=int) or 1, 100_000))


def _attach(form, error: ResidenceError) -> None:
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def _local_cutoff(programme) -> str:
    from flask_babel import format_datetime

    return format_datetime(programme.cutoff, "medium")


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
    application = application_of(db.session, snapshot, enterprise.id) if snapshot else None
    statuses = None
    if snapshot is not None:
        statuses = queries.worker_status_page(db.session, snapshot.id, credit_code=enterprise.credit_code,
                                              reason=request.args.get("reason") or None, page=_page_number(),
                                              per_page=PER_PAGE)
    return render_template("residence/enterprise_retention.html", enterprise=enterprise, preview=None,
                           snapshot=snapshot, figures=figures, application=application, statuses=statuses,
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
    shown = snapshot or preview
    return render_template(
        "residence/official_snapshot.html", snapshot=snapshot, preview=preview,
        districts=queries.district_totals(db.session, shown.id) if shown else [],
        in_progress=queries.snapshot_in_progress(db.session, programme),
        runs=queries.recent_job_runs(db.session), cutoff_text=_local_cutoff(programme))


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
@roles_required(Role.OFFICIAL)
def official_applications():
    programme = context.programme()
    snapshot = find_official_snapshot(db.session, programme)
    status = request.args.get("status") or None
    if status not in (None, "applied", "approved", "rejected", "paid"):
        status = None
    page = queries.application_page(db.session, snapshot.id, status=status, page=_page_number(),
                                    per_page=PER_PAGE) if snapshot else None
    return render_template("residence/official_applications.html", snapshot=snapshot, page=page, status=status,
                           decision_form=DecisionForm(), paid_form=PaidForm(), cutoff_text=_local_cutoff(programme))


@bp.post("/official/residence/applications/<rowid:application_id>")
@roles_required(Role.OFFICIAL)
def official_application_action(application_id: int):
    application = db.session.get(SubsidyApplication, application_id)
    if application is None:
        abort(404)
    action = request.form.get("action")
    form = PaidForm() if action == "paid" else DecisionForm()
    if not form.validate_on_submit():
        abort(400)
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
@roles_required(Role.OFFICIAL)
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
@roles_required(Role.OFFICIAL)
def official_production_action(declaration_id: int):
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
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


@bp.get("/official/residence/sms")
@roles_required(Role.OFFICIAL)
def official_sms():
    from wzcheckin.residence.sms import outbox_counts

    kind = request.args.get("kind") or None
    if kind not in (None, "p7_qualified", "evidence_reminder"):
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


# --- template helpers (namespaced: used by this room's templates) --------------------------------------

@bp.app_template_global("residence_reason_label")
def _reason_label(code: str) -> str:
    return reasons.reason_label(code)


@bp.app_template_global("residence_reason_text")
def _reason_text(code: str, windows_missed: int = 0, departed_on=None) -> str:
    from wzcheckin.core.i18n import selected_language

    return reasons.reason_text(context.programme(), code, windows_missed=windows_missed, departed_on=departed_on,
                               english=selected_language() == "en")


@bp.app_template_global("residence_window_name")
def _window_name(window) -> str:
    from wzcheckin.core.i18n import selected_language

    return (window.name_en or window.name) if selected_language() == "en" else window.name
