"""Review room, pages (officials only): the review queue with each application's risk signals,
one application's review (acknowledge every signal, approve, reject, record the on-site check,
mark paid), the seeded draw for on-site checks, and the budget with its payment file."""

from __future__ import annotations

import secrets

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from wzcheckin import clock
from wzcheckin.admin.charts import Series, bar_chart, thousands
from wzcheckin.benefits.csv_out import write_csv
from wzcheckin.core import context
from wzcheckin.core.audit import record_audit
from wzcheckin.core.auth import roles_required
from wzcheckin.core.i18n import selected_language
from wzcheckin.core.navigation import REVIEW_MONEY, NavItem
from wzcheckin.core.refusals import Refusal
from wzcheckin.core.roles import Role
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db
from wzcheckin.review import budget, queue
from wzcheckin.review.errors import ReviewError
from wzcheckin.review.models import Policy
from wzcheckin.review.ownership import DECIDERS, QUEUE_ROLES, may_decide, policies_seen_by
from wzcheckin.review.signals import explain, latest_run

bp = Blueprint("review", __name__)

NAV_ITEMS = [
    NavItem(QUEUE_ROLES, "review.queue_page", _l("Review queue"), group=REVIEW_MONEY),
    NavItem(QUEUE_ROLES, "review.budget_page", _l("Budget"), group=REVIEW_MONEY),
]

POLICY_LABELS = {
    "P6": _l("P6 training subsidy"),
    "P7": _l("P7 retention subsidy"),
    "P8": _l("P8 production reward"),
}

KIND_LABELS = {
    "scan_burst": _l("Scan bursts from one desk"),
    "late_upload": _l("Late uploads"),
    "night_scan": _l("Night scans"),
    "impossible_travel": _l("Impossible travel"),
    "self_registered_share": _l("Self-registered share"),
    "bulk_confirmation": _l("Bulk roster confirmations"),
    "single_desk": _l("Evidence from a single desk"),
    "window_end_cluster": _l("Evidence at the ends of the windows"),
}


class ActionForm(FlaskForm):
    """CSRF only: the fields (one note per signal) are read from the posted form."""


def _policy_or_404(value: str) -> Policy:
    """The policy in the URL, if the reader's bureau sees it (another bureau's is not found)."""
    try:
        policy = queue.parse_policy(value)
    except ReviewError:
        abort(404)
    if policy not in _seen():
        abort(404)
    return policy


def _seen() -> tuple[Policy, ...]:
    return policies_seen_by(current_user.role)


def _english() -> bool:
    return selected_language() == "en"


# --- the queue ------------------------------------------------------------------------------------

@bp.get("/official/review", endpoint="queue_page")
@roles_required(*QUEUE_ROLES)
def queue_page():
    programme = context.programme()
    policy = request.args.get("policy") or None
    try:
        chosen = queue.parse_policy(policy) if policy else None
    except ReviewError:
        chosen = None
    if chosen not in _seen():
        chosen = None

    reviews = queue.queue(db.session, programme, chosen, policies=_seen())
    return render_template("review/queue.html", reviews=reviews, policy=chosen, run=latest_run(db.session),
                           form=ActionForm(), sample_rate=programme.review.sample_rate, policies=_seen(),
                           may_draw=current_user.role is Role.OFFICIAL)


@bp.post("/official/review/sample", endpoint="draw_sample")
@roles_required(Role.OFFICIAL)
def draw_sample():
    if not ActionForm().validate_on_submit():
        abort(400)
    seed = secrets.randbits(48)  # recorded with the sample: the draw can be repeated from it
    try:
        with unit_of_work(db.session):
            _sample, selected = queue.draw_sample(db.session, context.programme(), seed=seed, actor=current_user,
                                                  now=clock.now(), ip=request.remote_addr)
        flash(_("Sample drawn (seed %(seed)s): %(n)s application(s) marked for an on-site check.", seed=seed,
                n=len(selected)), "success")
    except Refusal as error:
        flash(error.message, "error")
    return redirect(url_for("review.queue_page"))


# --- one application ---------------------------------------------------------------------------------

@bp.get("/official/review/<policy>/<rowid:application_id>", endpoint="item_page")
@roles_required(*QUEUE_ROLES)
def item_page(policy: str, application_id: int):
    programme = context.programme()
    chosen = _policy_or_404(policy)
    try:
        item = queue.load_item(db.session, programme, chosen, application_id)
    except ReviewError:
        abort(404)
    review = queue.review_of(db.session, programme, item)
    return render_template("review/item.html", review=review, form=ActionForm(), errors={},
                           notes={}, paid=queue.is_paid(db.session, item), may_decide=may_decide(current_user.role, chosen),
                           approved_by_me=any(a.official_user_id == current_user.id for a in review.approvals))


@bp.post("/official/review/<policy>/<rowid:application_id>", endpoint="item_action")
@roles_required(*DECIDERS)
def item_action(policy: str, application_id: int):
    programme, now = context.programme(), clock.now()
    chosen = _policy_or_404(policy)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    action = request.form.get("action")
    notes = {}
    for name, value in request.form.items():
        if name.startswith("note-") and name[5:].isdigit():
            notes[int(name[5:])] = value
    try:
        with unit_of_work(db.session):
            if action == "approve":
                outcome = queue.approve(db.session, programme, policy=chosen, application_id=application_id,
                                        notes=notes, actor=current_user, now=now, ip=request.remote_addr)
                if outcome.decided:
                    flash(_("Approved."), "success")
                else:
                    flash(_("Your approval is recorded (%(n)s of %(needed)s): a second official must approve too.",
                            n=outcome.approvals, needed=outcome.needed), "success")
            elif action == "reject":
                queue.reject(db.session, programme, policy=chosen, application_id=application_id,
                             reason=request.form.get("reason"), actor=current_user, now=now, ip=request.remote_addr)
                flash(_("Rejected."), "success")
            elif action == "onsite":
                queue.record_onsite_check(db.session, policy=chosen, application_id=application_id,
                                          note=request.form.get("onsite_note"), actor=current_user, now=now,
                                          ip=request.remote_addr)
                flash(_("On-site check recorded."), "success")
            elif action == "paid":
                queue.mark_paid(db.session, programme, policy=chosen, application_id=application_id,
                                reference=request.form.get("reference"), actor=current_user, now=now,
                                ip=request.remote_addr)
                flash(_("Marked as paid."), "success")
            else:
                abort(400)
    except Refusal as error:
        if error.code == "not_found":
            abort(404)
        try:
            item = queue.load_item(db.session, programme, chosen, application_id)
        except ReviewError:
            abort(404)
        review = queue.review_of(db.session, programme, item)
        errors = {error.field: error.message} if error.field else {}
        if not error.field:
            flash(error.message, "error")
        return render_template("review/item.html", review=review, form=form, errors=errors, notes=notes,
                               paid=queue.is_paid(db.session, item), may_decide=may_decide(current_user.role, chosen),
                               approved_by_me=any(a.official_user_id == current_user.id for a in review.approvals)), 422
    return redirect(url_for("review.item_page", policy=chosen.value, application_id=application_id))


# --- the budget ---------------------------------------------------------------------------------------


def _budget_series() -> list[Series]:
    return [Series("committed", _("Committed"), "s-pledged"), Series("approved", _("Approved"), "s-tier"),
            Series("paid", _("Paid"), "s-confirmed")]


def _money_chart(chart_id: str, title: str, rows: list[budget.BudgetRow], label) -> object:
    series = _budget_series()
    lines = []
    for row in rows:
        parts = [(series[0], row.committed_fen, _("Committed: ¥%(v)s", v=budget.yuan_text(row.committed_fen))),
                 (series[1], row.approved_fen, _("Approved: ¥%(v)s", v=budget.yuan_text(row.approved_fen))),
                 (series[2], row.paid_fen, _("Paid: ¥%(v)s", v=budget.yuan_text(row.paid_fen)))]
        figure = f"¥{thousands(row.paid_fen // 100)} / ¥{thousands(row.approved_fen // 100)} / " \
                 f"¥{thousands(row.committed_fen // 100)}"
        lines.append((label(row), figure, parts))
    return bar_chart(chart_id, title, _("Paid, approved and committed amounts in yuan, drawn over one another."),
                     series, lines, overlay=True)


@bp.get("/official/budget", endpoint="budget_page")
@roles_required(*QUEUE_ROLES)
def budget_page():
    """The money of the policies the reader's bureau sees (all of them for the programme office
    and the auditor); the payment file is the deciding bureaus' own."""
    programme = context.programme()
    seen = {policy.value for policy in _seen()}
    rows = [row for row in budget.budget_rows(db.session, programme) if row.policy in seen]
    by_policy = budget.totals(rows, "policy")
    by_district = budget.totals(rows, "district")
    policy_chart = _money_chart("budget-policy", _("By policy"), by_policy, lambda row: str(POLICY_LABELS[row.policy]))
    district_chart = _money_chart("budget-district", _("By district"), by_district,
                                  lambda row: row.district or _("(no district)"))
    return render_template("review/budget.html", rows=rows, by_policy=by_policy, by_district=by_district,
                           policy_chart=policy_chart, district_chart=district_chart, form=ActionForm(),
                           unpaid=len(_payment_lines(programme)), may_pay=current_user.role in DECIDERS)


def _payment_lines(programme) -> list:
    seen = {policy.value for policy in _seen()}
    return [line for line in budget.payment_lines(db.session, programme) if line.policy in seen]


@bp.post("/official/budget/payments", endpoint="payment_file")
@roles_required(*DECIDERS)
def payment_file():
    """The payment file (CSV) of approved applications not yet paid, of the policies the
    official's bureau owns; masked; audited before it leaves."""
    if not ActionForm().validate_on_submit():
        abort(400)
    programme, now = context.programme(), clock.now()
    with unit_of_work(db.session):
        lines = _payment_lines(programme)
        record_audit(db.session, at=now, actor=current_user, action="review.payment_file", target_type="dataset",
                     target_id="payments", ip=request.remote_addr,
                     details={"rows": len(lines), "total_fen": sum(line.amount_fen for line in lines), "masked": True})
    # The shared CSV writer: a BOM for Excel, and a cell an enterprise typed that starts like a
    # formula (=, +, -, @) neutralised.
    body = write_csv(budget.PAYMENT_CSV_HEADER, (line.csv_row() for line in lines))
    name = f"wzcheckin-payments-{programme.local_date(now):%Y%m%d}.csv"
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- template helpers (namespaced: used by this room's templates) ---------------------------------------

@bp.app_template_global("review_kind_label")
def _kind_label(kind: str) -> str:
    label = KIND_LABELS.get(kind)
    return str(label) if label else kind


@bp.app_template_global("review_policy_label")
def _policy_label(policy: str) -> str:
    label = POLICY_LABELS.get(getattr(policy, "value", policy))
    return str(label) if label else str(policy)


@bp.app_template_global("review_signal_text")
def _signal_text(signal) -> str:
    """The stored Chinese explanation; English readers get the same figures in English."""
    return explain(signal.kind, signal.params, english=True) if _english() else signal.explanation


@bp.app_template_global("review_yuan")
def _yuan(fen: int) -> str:
    text = budget.yuan_text(int(fen))
    whole, _dot, cents = text.partition(".")
    return "¥" + thousands(int(whole)) + (f".{cents}" if cents else "")
