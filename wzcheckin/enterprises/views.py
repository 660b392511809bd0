"""Enterprises and gates room, pages: the enterprise admin's page (today at the gate, health
alerts, the roster with each worker's evidence windows), the visitor registration form at the
gate, and the officials' health view of every fever and symptom alert."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from wzcheckin import clock
from wzcheckin.core import context
from wzcheckin.core.audit import record_audit
from wzcheckin.core.auth import current_checkpoint, current_enterprise, roles_required
from wzcheckin.core.forms import run_form
from wzcheckin.core.identity import mask_name
from wzcheckin.core.navigation import OVERVIEW, NavItem
from wzcheckin.core.roles import Role
from wzcheckin.db import unit_of_work
from wzcheckin.enterprises.forms import ActionForm, VisitorForm
from wzcheckin.enterprises.gates import VisitorDetails, acknowledge_alert, format_temperature, register_visitor
from wzcheckin.enterprises.models import Enterprise, HealthAlert
from wzcheckin.enterprises.queries import gate_day, health_alerts, roster, visitors_on
from wzcheckin.enterprises.roster import NotOnRoster, confirm_employee, remove_employee
from wzcheckin.extensions import db
from wzcheckin.residence.evidence import window_statuses
from wzcheckin.scanning.messages import reason_message

bp = Blueprint("enterprises", __name__)

NAV_ITEMS = [
    NavItem((Role.ENTERPRISE_ADMIN,), "enterprises.dashboard", _l("My enterprise")),
    NavItem((Role.ENTERPRISE_ADMIN, Role.GATEKEEPER), "enterprises.visitor", _l("Register a visitor")),
    NavItem((Role.HEALTH_OFFICIAL,), "enterprises.health", _l("Health alerts"), group=OVERVIEW),
]

# Short names of the refusals counted on the admin's page.
REFUSAL_LABELS = {
    "fever": _l("fever"),
    "symptoms": _l("symptoms"),
    "no_mask": _l("no mask"),
    "checks_missing": _l("checks not recorded"),
    "not_employee": _l("not an employee"),
    "expired": _l("expired code"),
    "invalid_token": _l("invalid code"),
    "revoked": _l("revoked pass"),
    "revoked_key": _l("withdrawn signing key"),
    "wrong_kind": _l("wrong kind of code"),
}


def refusal_label(reason: str) -> str:
    label = REFUSAL_LABELS.get(reason)
    return str(label) if label is not None else reason


def _audit(action: str, **kwargs) -> None:
    record_audit(db.session, at=clock.now(), actor=current_user._get_current_object(), action=action,
                 ip=request.remote_addr, **kwargs)


@bp.get("/enterprise")
@roles_required(Role.ENTERPRISE_ADMIN)
def dashboard():
    enterprise = current_enterprise()
    programme = context.programme()
    now = clock.now()
    today = programme.local_date(now)
    workers = roster(db.session, enterprise)
    statuses = window_statuses(db.session, programme, [w.id for w in workers], now)
    return render_template(
        "enterprises/dashboard.html", enterprise=enterprise, today=gate_day(db.session, enterprise, programme, today),
        alerts=health_alerts(db.session, enterprise_id=enterprise.id, limit=50), workers=workers,
        statuses=statuses, visitors=visitors_on(db.session, enterprise, programme, today),
        reason_message=reason_message, refusal_label=refusal_label, form=ActionForm(),
        pending=sum(1 for w in workers if not w.employment_confirmed),
    )


def _roster_action(worker_id: int, action: str):
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    enterprise = current_enterprise()
    change = confirm_employee if action == "confirm" else remove_employee
    try:
        with unit_of_work(db.session):
            worker = change(db.session, enterprise, worker_id, clock.now(), by_user_id=current_user.id)
            _audit(f"roster.{action}", target_type="worker", target_id=worker.id,
                   details={"enterprise": enterprise.credit_code})
            name = worker.name
    except NotOnRoster:
        abort(404)

    flash(_("%(name)s is confirmed as an employee.", name=mask_name(name)) if action == "confirm"
          else _("%(name)s was removed from the roster.", name=mask_name(name)), "success")
    return redirect(url_for("enterprises.dashboard") + "#roster")


@bp.post("/enterprise/roster/<rowid:worker_id>/confirm")
@roles_required(Role.ENTERPRISE_ADMIN)
def confirm_worker(worker_id: int):
    return _roster_action(worker_id, "confirm")


@bp.post("/enterprise/roster/<rowid:worker_id>/remove")
@roles_required(Role.ENTERPRISE_ADMIN)
def remove_worker(worker_id: int):
    return _roster_action(worker_id, "remove")


@bp.post("/enterprise/alerts/<rowid:alert_id>/acknowledge")
@roles_required(Role.ENTERPRISE_ADMIN)
def acknowledge(alert_id: int):
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    enterprise = current_enterprise()
    with unit_of_work(db.session):
        # Object-level check: only an alert of the admin's own enterprise is found.
        alert = db.session.scalar(sa.select(HealthAlert).where(HealthAlert.id == alert_id,
                                                               HealthAlert.enterprise_id == enterprise.id))
        if alert is None:
            abort(404)
        acknowledge_alert(db.session, alert, current_user, clock.now())
        _audit("health_alert.acknowledge", target_type="health_alert", target_id=alert.id)
    flash(_("Alert marked as handled."), "success")
    return redirect(url_for("enterprises.dashboard") + "#alerts")


@bp.route("/gate/visitors", methods=["GET", "POST"])
@roles_required(Role.GATEKEEPER, Role.ENTERPRISE_ADMIN)
def visitor():
    """实名制登记: a visitor without a pass, with the same entry checks as a scan."""
    enterprise = current_enterprise()
    checkpoint = current_checkpoint()
    form = VisitorForm()

    def register():
        details = VisitorDetails(
            name=form.name.data or "", id_number=form.id_number.data or "", phone=form.phone.data or "",
            reason=form.reason.data or "", mask={"yes": True, "no": False}.get(form.mask.data),
            temperature=form.temperature.data, symptoms=bool(form.symptoms.data),
        )
        registered = register_visitor(db.session, context.vault(), context.programme(), checkpoint=checkpoint,
                                      staff=current_user, details=details, now=clock.now())
        _audit("visitor.register", target_type="visitor", target_id=registered.id,
               details={"outcome": registered.outcome})
        return registered

    done = run_form(form, register)
    if done:
        registered = done.value
        return render_template("enterprises/visitor_result.html", visitor=registered, enterprise=enterprise,
                               message=reason_message(registered.outcome,
                                                      {"temperature": format_temperature(registered.temperature)}))
    return render_template("enterprises/visitor.html", form=form, enterprise=enterprise)


@bp.get("/health/alerts")
@roles_required(Role.HEALTH_OFFICIAL)
def health():
    """卫健委 view: every fever and symptom refusal at every gate, newest first."""
    district = request.args.get("district", "").strip()[:50] or None
    districts = list(db.session.scalars(sa.select(Enterprise.district).distinct().order_by(Enterprise.district)))
    alerts = health_alerts(db.session, district=district, limit=300)
    return render_template("enterprises/health.html", alerts=alerts, districts=districts, district=district)


@bp.app_template_filter("temperature_reading")
def _temperature_reading(value) -> str:
    """A stored reading as it was given (the column keeps two decimals: 38.10 shows as 38.1)."""
    return format_temperature(value) if value is not None else ""
