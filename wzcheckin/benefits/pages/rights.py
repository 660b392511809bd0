"""Benefits room, pages: wage-arrears complaints — the worker files and follows theirs, officials
handle them, an enterprise admin sees those against their own enterprise."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from wzcheckin import clock
from wzcheckin.benefits import rights
from wzcheckin.benefits.forms import ActionForm, ComplaintForm, HandleComplaintForm
from wzcheckin.benefits.models import WageComplaint
from wzcheckin.benefits.pages.base import audit, bp
from wzcheckin.core import context
from wzcheckin.core.auth import current_enterprise, current_worker, roles_required
from wzcheckin.core.forms import action_expired, run_form
from wzcheckin.core.roles import Role
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db, limiter


@bp.get("/me/complaints")
@roles_required(Role.WORKER)
def my_complaints():
    worker = current_worker()
    return render_template("benefits/my_complaints.html", complaints=rights.worker_complaints(db.session, worker.id))


@bp.route("/me/complaints/new", methods=["GET", "POST"])
@roles_required(Role.WORKER)
@limiter.limit("5 per minute; 20 per day", methods=["POST"])
def complaint_new():
    worker = current_worker()
    form = ComplaintForm()
    if request.method == "GET" and worker.enterprise is not None:
        form.credit_code.data = worker.enterprise.credit_code
        form.employer_name.data = worker.enterprise.name
    def file() -> WageComplaint:
        data = rights.ComplaintInput(
            credit_code=form.credit_code.data or "", employer_name=form.employer_name.data or "",
            months=form.months.data or "", amount_yuan=form.amount_yuan.data or "",
            description=form.description.data or "")
        return rights.file_complaint(db.session, worker, data, clock.now())

    done = run_form(form, file)
    if done:
        flash(_("Complaint filed (No. %(number)s). The labour inspectors will contact you.",
                number=done.value.id), "success")
        return redirect(url_for("benefits.my_complaint", complaint_id=done.value.id))
    status = 400 if request.method == "POST" else 200
    return render_template("benefits/complaint_form.html", form=form), status


@bp.get("/me/complaints/<rowid:complaint_id>")
@roles_required(Role.WORKER)
def my_complaint(complaint_id: int):
    complaint = db.session.get(WageComplaint, complaint_id)
    if complaint is None or complaint.worker_id != current_worker().id:
        abort(404)
    return render_template("benefits/complaint.html", complaint=complaint, audience="worker")


# --- enterprise admins ---------------------------------------------------------------------------

@bp.get("/enterprise/complaints")
@roles_required(Role.ENTERPRISE_ADMIN)
def enterprise_complaints():
    enterprise = current_enterprise()
    return render_template("benefits/enterprise_complaints.html", enterprise=enterprise,
                           complaints=rights.enterprise_complaints(db.session, enterprise.id))


@bp.get("/enterprise/complaints/<rowid:complaint_id>")
@roles_required(Role.ENTERPRISE_ADMIN)
def enterprise_complaint(complaint_id: int):
    complaint = db.session.get(WageComplaint, complaint_id)
    if complaint is None or complaint.enterprise_id != current_enterprise().id:
        abort(404)  # only complaints against the admin's own enterprise
    return render_template("benefits/complaint.html", complaint=complaint, audience="enterprise")


# --- officials ---------------------------------------------------------------------------------

@bp.get("/admin/benefits/complaints")
@roles_required(Role.HR_OFFICIAL)
def complaints_admin():
    status = request.args.get("status") or ""
    return render_template("benefits/complaints_admin.html", complaints=rights.all_complaints(db.session, status),
                           counts=rights.complaint_counts(db.session), status=status)


def _handle_form(complaint: WageComplaint) -> HandleComplaintForm:
    form = HandleComplaintForm()
    labels = {"received": _("Received"), "handling": _("Handling"), "resolved": _("Resolved")}
    form.status.choices = [SelectChoice(value, labels[value]) for value in rights.next_statuses(complaint)]
    if request.method == "GET":
        form.status.data = complaint.status.value
    return form


@bp.route("/admin/benefits/complaints/<rowid:complaint_id>", methods=["GET", "POST"])
@roles_required(Role.HR_OFFICIAL)
def complaint_handle(complaint_id: int):
    complaint = db.session.get(WageComplaint, complaint_id)
    if complaint is None:
        abort(404)
    form = _handle_form(complaint)
    now = clock.now()

    def handle() -> None:
        handled = rights.handle_complaint(db.session, complaint.id, status=form.status.data, note=form.note.data or "",
                                          now=now, actor=current_user._get_current_object())
        audit("complaint.handle", target_type="wage_complaint", target_id=handled.id, now=now,
              details={"status": handled.status.value})

    done = run_form(form, handle)
    if done:
        flash(_("Saved."), "success")
        return redirect(url_for("benefits.complaint_handle", complaint_id=complaint_id))
    status = 400 if request.method == "POST" else 200
    complaint = db.session.get(WageComplaint, complaint_id)
    return render_template("benefits/complaint.html", complaint=complaint, audience="official", form=form,
                           reveal_form=ActionForm(), phone=None), status


@bp.post("/admin/benefits/complaints/<rowid:complaint_id>/contact")
@roles_required(Role.HR_OFFICIAL)
def complaint_contact(complaint_id: int):
    """The handling official needs the worker's phone number: an authorised, logged reveal."""
    complaint = db.session.get(WageComplaint, complaint_id)
    if complaint is None:
        abort(404)
    if action_expired(ActionForm()):
        return redirect(url_for("benefits.complaint_handle", complaint_id=complaint_id))
    with unit_of_work(db.session):
        audit("complaint.reveal_phone", target_type="wage_complaint", target_id=complaint_id,
              details={"revealed": ["phone"]})
    complaint = db.session.get(WageComplaint, complaint_id)
    phone = context.vault().decrypt(complaint.worker.user.phone_encrypted)
    form = _handle_form(complaint)
    return render_template("benefits/complaint.html", complaint=complaint, audience="official", form=form,
                           reveal_form=ActionForm(), phone=phone)


