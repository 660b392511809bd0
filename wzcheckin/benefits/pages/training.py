"""Benefits room, pages: skills training — courses for workers, the officials' desk (courses,
subsidy claims to review) and the organising enterprise's page (courses, completions, claim)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from wzcheckin import clock
from wzcheckin.benefits.attendance import enrol, find_enrolment, upload_completions
from wzcheckin.benefits.courses import (
    CODE_PATTERN,
    CourseInput,
    attended_days,
    clean_course,
    course_sessions,
    courses_for_worker,
    enrolment_counts,
    find_course,
    save_course,
    sessions_text,
    worker_enrolments,
)
from wzcheckin.benefits.errors import BenefitRefused
from wzcheckin.benefits.forms import ActionForm, CourseForm, InvoiceForm, InvoiceReviewForm, ReviewForm, UploadForm
from wzcheckin.benefits.invoices import (
    INVOICE_EXTENSIONS,
    INVOICE_MAX_BYTES,
    InvoiceInput,
    course_invoices,
    review_invoice,
    upload_invoice,
)
from wzcheckin.benefits.models import (
    Course,
    CourseInvoice,
    CourseMode,
    Enrolment,
    SubsidyClaimStatus,
    TrainingSubsidyClaim,
)
from wzcheckin.benefits.money import fen_to_yuan
from wzcheckin.benefits.pages.base import attach_errors, audit, bp, flash_refusal, refusal_text, uploaded_text
from wzcheckin.benefits.training_subsidy import (
    active_claim,
    compute_training_subsidy,
    enterprise_claims,
    review_subsidy_claim,
    sessions_held,
    submit_subsidy_claim,
)
from wzcheckin.core import context
from wzcheckin.core.auth import current_enterprise, current_worker, roles_required
from wzcheckin.core.csv_import import CsvFormatError
from wzcheckin.core.forms import run_action, run_form, show_expired
from wzcheckin.core.roles import Role
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db

# --- workers -----------------------------------------------------------------------------------


@bp.get("/training")
@roles_required(Role.WORKER)
def training_list():
    worker = current_worker()
    programme = context.programme()
    now = clock.now()
    district = (request.args.get("district") or "").strip()[:50] or None
    mode = request.args.get("mode") or None
    courses = courses_for_worker(db.session, worker, programme, now, district=district, mode=mode)
    enrolments = worker_enrolments(db.session, worker.id)
    days = attended_days(db.session, [e.id for e in enrolments])
    districts = sorted({c.district for c in courses_for_worker(db.session, worker, programme, now)
                        if c.district})
    return render_template("benefits/training_list.html", courses=courses, enrolments=enrolments, days=days,
                           enrolled={e.course_id for e in enrolments}, district=district or "", mode=mode or "",
                           districts=districts, taken=enrolment_counts(db.session, [c.id for c in courses]),
                           today=programme.local_date(now))


def _course_or_404(code: str) -> Course:
    course = find_course(db.session, code) if CODE_PATTERN.match(code or "") else None
    if course is None:
        abort(404)
    return course


@bp.get("/training/<code>")
@roles_required(Role.WORKER)
def course_page(code: str):
    course = _course_or_404(code)
    worker = current_worker()
    if course.enterprise_id is not None and course.enterprise_id != worker.enterprise_id:
        abort(404)  # another enterprise's in-house course is not listed to this worker
    enrolment = find_enrolment(db.session, course.id, worker.id)
    days = attended_days(db.session, [enrolment.id])[enrolment.id] if enrolment else []
    taken = enrolment_counts(db.session, [course.id]).get(course.id, 0)
    return render_template("benefits/course.html", course=course, enrolment=enrolment, days=days, taken=taken,
                           form=ActionForm(), today=context.programme().local_date(clock.now()))


@bp.post("/training/<code>/enrol")
@roles_required(Role.WORKER)
def course_enrol(code: str):
    course = _course_or_404(code)
    if course.enterprise_id is not None and course.enterprise_id != current_worker().enterprise_id:
        abort(404)  # as on the course page: another enterprise's in-house course does not exist here
    if run_action(ActionForm(), lambda: enrol(db.session, context.programme(), course, current_worker(),
                                                       clock.now())):
        if course.mode is CourseMode.OFFLINE:
            flash(_("Enrolled. Show your pass at each class: the scan records your attendance."), "success")
        else:
            flash(_("Enrolled. Your employer or the provider records your completion."), "success")
    return redirect(url_for("benefits.course_page", code=course.code))


# --- course forms (officials and enterprise admins) ---------------------------------------------

def _course_input(form: CourseForm):
    return CourseInput(
        code=form.code.data or "", title=form.title.data or "", mode=form.mode.data or "",
        provider=form.provider.data or "", class_hours=form.class_hours.data or "", cost_yuan=form.cost_yuan.data or "",
        credit_code=form.credit_code.data or "", district=form.district.data or "", address=form.address.data or "",
        starts_on=form.starts_on.data, ends_on=form.ends_on.data, capacity=form.capacity.data or "",
        description=form.description.data or "", sessions=form.sessions.data or "",
    )


def _fill_course_form(form: CourseForm, course: Course) -> None:
    form.code.data = course.code
    form.title.data = course.title
    form.mode.data = course.mode.value
    form.provider.data = course.provider
    form.class_hours.data = str(course.class_hours)
    form.cost_yuan.data = fen_to_yuan(course.cost_per_person_fen)
    form.credit_code.data = course.enterprise.credit_code if course.enterprise else ""
    form.district.data = course.district
    form.address.data = course.address
    form.starts_on.data = course.starts_on
    form.ends_on.data = course.ends_on
    form.capacity.data = str(course.capacity) if course.capacity else ""
    form.description.data = course.description
    form.sessions.data = sessions_text(course_sessions(db.session, course.id))


def _course_form_view(*, course: Course | None, enterprise, done_endpoint: str):
    """Create or edit a course; ``enterprise`` fixes the organiser (enterprise admins)."""
    form = CourseForm()
    if request.method == "GET" and course is not None:
        _fill_course_form(form, course)
    if course is not None:
        form.code.render_kw = {**(form.code.render_kw or {}), "readonly": "readonly"}
        form.mode.render_kw = {"disabled": "disabled"}
    if request.method == "POST" and course is not None:  # the code and mode never change
        form.code.data = course.code
        form.mode.data = course.mode.value

    def save() -> None:
        now = clock.now()
        clean = clean_course(db.session, _course_input(form), fixed_enterprise=enterprise)
        saved = save_course(db.session, clean, now, course=course)
        audit("training.course_update" if course else "training.course_create", target_type="course",
              target_id=saved.code, now=now,
              details={"mode": saved.mode.value, "enterprise": saved.enterprise.credit_code if saved.enterprise else None})

    if run_form(form, save):
        flash(_("Course saved."), "success")
        return redirect(url_for(done_endpoint))
    return render_template("benefits/course_form.html", form=form, course=course, enterprise=enterprise), (
        400 if request.method == "POST" else 200)


def _roster(course: Course):
    enrolments = list(db.session.scalars(sa.select(Enrolment).where(Enrolment.course_id == course.id)
                                         .order_by(Enrolment.id)))
    return enrolments, attended_days(db.session, [e.id for e in enrolments])


def _roster_page(course: Course, *, back: str, status: int = 200, **extra):
    """The course's page for officials and its organiser: roster, class sessions, invoices."""
    enrolments, days = _roster(course)
    programme = context.programme()
    return render_template(
        "benefits/course_roster.html", course=course, enrolments=enrolments, days=days, back=back,
        sessions=course_sessions(db.session, course.id),
        invoices=course_invoices(db.session, course.id) if course.mode is CourseMode.ONLINE else [],
        online_cap_yuan=programme.training.online_cost_cap_yuan_per_person,
        claim_deadline=programme.training.claim_deadline, **extra), status


# --- officials ---------------------------------------------------------------------------------

@bp.get("/admin/benefits/training")
@roles_required(Role.HR_OFFICIAL)
def training_desk():
    courses = list(db.session.scalars(sa.select(Course).order_by(Course.starts_on.desc(), Course.code).limit(500)))
    claims = list(db.session.scalars(sa.select(TrainingSubsidyClaim).order_by(
        sa.case((TrainingSubsidyClaim.status == SubsidyClaimStatus.SUBMITTED, 0), else_=1),
        TrainingSubsidyClaim.id.desc()).limit(200)))
    programme = context.programme()
    return render_template("benefits/training_desk.html", courses=courses, claims=claims,
                           taken=enrolment_counts(db.session, [c.id for c in courses]),
                           sessions_held=sessions_held(db.session, programme),
                           sessions_offered=programme.training.sessions_offered)


@bp.route("/admin/benefits/training/courses/new", methods=["GET", "POST"])
@roles_required(Role.HR_OFFICIAL)
def course_new():
    return _course_form_view(course=None, enterprise=None, done_endpoint="benefits.training_desk")


@bp.route("/admin/benefits/training/courses/<code>/edit", methods=["GET", "POST"])
@roles_required(Role.HR_OFFICIAL)
def course_edit(code: str):
    return _course_form_view(course=_course_or_404(code), enterprise=None, done_endpoint="benefits.training_desk")


@bp.get("/admin/benefits/training/courses/<code>")
@roles_required(Role.HR_OFFICIAL)
def course_roster(code: str, review_form=None, status: int = 200):
    course = _course_or_404(code)
    return _roster_page(course, back=url_for("benefits.training_desk"), status=status, upload_form=None,
                        review_form=review_form or InvoiceReviewForm(formdata=None))


def _invoice_or_404(invoice_id: int) -> CourseInvoice:
    invoice = db.session.get(CourseInvoice, invoice_id)
    if invoice is None:
        abort(404)
    return invoice


@bp.get("/admin/benefits/training/invoices/<rowid:invoice_id>")
@roles_required(Role.HR_OFFICIAL)
def invoice_file(invoice_id: int):
    """The invoice file, as a download with the type detected from its bytes at upload."""
    invoice = _invoice_or_404(invoice_id)
    with unit_of_work(db.session):
        audit("training.invoice_view", target_type="course_invoice", target_id=invoice.id)
    invoice = _invoice_or_404(invoice_id)
    response = Response(invoice.data, mimetype=invoice.content_type)
    extension = INVOICE_EXTENSIONS.get(invoice.content_type, "bin")
    response.headers["Content-Disposition"] = f'attachment; filename="invoice-{invoice.id}.{extension}"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/admin/benefits/training/invoices/<rowid:invoice_id>")
@roles_required(Role.HR_OFFICIAL)
def invoice_review(invoice_id: int):
    """An official approves a cost per person against the invoice, or rejects it."""
    invoice = _invoice_or_404(invoice_id)
    course = db.session.get(Course, invoice.course_id)
    form = InvoiceReviewForm()
    if not form.validate_on_submit():
        form.form_errors.append(_("Choose approve or reject."))
        db.session.rollback()
        return course_roster(course.code, form, 400)
    now = clock.now()
    approve = form.decision.data == "approve"
    try:
        with unit_of_work(db.session):
            reviewed = review_invoice(db.session, invoice.id, approve=approve, cost_yuan=form.cost_yuan.data or "",
                                               note=form.note.data or "", now=now,
                                               actor=current_user._get_current_object())
            audit("training.invoice_approve" if approve else "training.invoice_reject",
                  target_type="course_invoice", target_id=reviewed.id, now=now,
                  details={"course": course.code, "proposed_fen": reviewed.proposed_cost_per_person_fen,
                           "approved_fen": reviewed.approved_cost_per_person_fen,
                           "note": (form.note.data or "")[:200]})
    except BenefitRefused as refusal:
        if refusal.field:
            attach_errors(form, {refusal.field: refusal.code})
            return course_roster(course.code, form, 422)
        flash_refusal(refusal)
    else:
        flash(_("Cost approved.") if approve else _("Invoice rejected."), "success")
    return redirect(url_for("benefits.course_roster", code=course.code))


@bp.route("/admin/benefits/training/claims/<rowid:claim_id>", methods=["GET", "POST"])
@roles_required(Role.HR_OFFICIAL)
def claim_review(claim_id: int):
    claim = db.session.get(TrainingSubsidyClaim, claim_id)
    if claim is None:
        abort(404)
    form = ReviewForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            form.form_errors.append(_("Choose approve or reject."))
        else:
            now = clock.now()
            approve = form.decision.data == "approve"
            if approve:
                # Money is approved in one place only: the review queue (signals acknowledged,
                # a second official above the programme's amount). Rejecting stays possible here.
                flash(_("Approvals go through the review queue: acknowledge each risk signal there."), "error")
                return redirect(url_for("review.item_page", policy="P6", application_id=claim.id))
            try:
                with unit_of_work(db.session):
                    review_subsidy_claim(db.session, claim.id, approve=approve, reason=form.reason.data or "",
                                                  now=now, actor=current_user._get_current_object())
                    audit("training.claim_approve" if approve else "training.claim_reject",
                          target_type="training_subsidy_claim", target_id=claim.id, now=now,
                          details={"amount_fen": claim.amount_fen, "reason": (form.reason.data or "")[:200]})
            except BenefitRefused as refusal:
                if refusal.field:
                    attach_errors(form, {refusal.field: refusal.code})
                else:
                    flash_refusal(refusal)
                    return redirect(url_for("benefits.claim_review", claim_id=claim.id))
            else:
                flash(_("Claim approved.") if approve else _("Claim rejected."), "success")
                return redirect(url_for("benefits.training_desk"))
        db.session.rollback()
        claim = db.session.get(TrainingSubsidyClaim, claim_id)
    return render_template("benefits/claim_review.html", claim=claim, breakdown=claim.breakdown, form=form)


# --- the organising enterprise -------------------------------------------------------------------

@bp.get("/enterprise/training")
@roles_required(Role.ENTERPRISE_ADMIN)
def enterprise_training():
    enterprise = current_enterprise()
    courses = list(db.session.scalars(sa.select(Course).where(Course.enterprise_id == enterprise.id)
                                      .order_by(Course.starts_on.desc(), Course.code)))
    breakdown = compute_training_subsidy(db.session, context.programme(), enterprise.id)
    return render_template("benefits/enterprise_training.html", enterprise=enterprise, courses=courses,
                           breakdown=breakdown.to_json(), claims=enterprise_claims(db.session, enterprise.id),
                           active=active_claim(db.session, enterprise.id), form=ActionForm(),
                           taken=enrolment_counts(db.session, [c.id for c in courses]))


@bp.route("/enterprise/training/courses/new", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE_ADMIN)
def enterprise_course_new():
    return _course_form_view(course=None, enterprise=current_enterprise(), done_endpoint="benefits.enterprise_training")


def _own_course(code: str) -> Course:
    course = _course_or_404(code)
    if course.enterprise_id != current_enterprise().id:
        abort(404)  # never another enterprise's course, whatever the URL says
    return course


@bp.route("/enterprise/training/courses/<code>/edit", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE_ADMIN)
def enterprise_course_edit(code: str):
    return _course_form_view(course=_own_course(code), enterprise=current_enterprise(),
                             done_endpoint="benefits.enterprise_training")


@bp.get("/enterprise/training/courses/<code>")
@roles_required(Role.ENTERPRISE_ADMIN)
def enterprise_course(code: str, upload_form=None, report=None, status: int = 200, invoice_form=None):
    course = _own_course(code)
    online = course.mode is CourseMode.ONLINE
    return _roster_page(course, back=url_for("benefits.enterprise_training"), status=status,
                        upload_form=upload_form or (UploadForm() if online else None), report=report,
                        invoice_form=invoice_form or (InvoiceForm(formdata=None) if online else None))


@bp.post("/enterprise/training/courses/<code>/invoice")
@roles_required(Role.ENTERPRISE_ADMIN)
def enterprise_invoice(code: str):
    """Attach the online course's invoice and propose a cost per person (officials approve)."""
    course = _own_course(code)
    if course.mode is not CourseMode.ONLINE:
        abort(404)
    form = InvoiceForm()

    def upload() -> None:
        storage = form.file.data
        data = storage.read(INVOICE_MAX_BYTES + 1) if storage is not None and getattr(storage, "filename", "") \
            else None
        now = clock.now()
        invoice = upload_invoice(
            db.session, context.programme(), course,
            InvoiceInput(invoice_no=form.invoice_no.data or "", amount_yuan=form.amount_yuan.data or "",
                                  cost_yuan=form.cost_yuan.data or "", data=data),
            now, actor=current_user._get_current_object())
        audit("training.invoice_upload", target_type="course_invoice", target_id=invoice.id, now=now,
              details={"course": course.code, "proposed_fen": invoice.proposed_cost_per_person_fen,
                       "amount_fen": invoice.amount_fen, "size": invoice.size})

    done = run_form(form, upload)
    if not done:
        return enterprise_course(code, status=done.status, invoice_form=form)
    flash(_("Invoice attached: an official reviews the cost per person."), "success")
    return redirect(url_for("benefits.enterprise_course", code=course.code))


@bp.post("/enterprise/training/courses/<code>/completions")
@roles_required(Role.ENTERPRISE_ADMIN)
def enterprise_completions(code: str):
    course = _own_course(code)
    if course.mode is not CourseMode.ONLINE:
        abort(404)
    form = UploadForm()
    if not form.validate_on_submit():
        show_expired(form, on=form.file)
        return enterprise_course(code, form, status=400)
    try:
        text = uploaded_text(form.file)
    except CsvFormatError as exc:
        form.file.errors = [exc.localised()]
        return enterprise_course(code, form, status=400)
    now = clock.now()

    class _Rejected(Exception):
        pass

    try:
        with unit_of_work(db.session):
            report = upload_completions(db.session, context.vault(), context.programme(), course, text, now)
            if not report.ok:
                raise _Rejected
            audit("training.completions", target_type="course", target_id=course.code, now=now,
                  details={"enrolled": report.created, "updated": report.updated})
    except _Rejected:
        return enterprise_course(code, form, report, status=400)
    except BenefitRefused as refusal:  # after the claim deadline
        form.file.errors = [refusal_text(refusal)]
        return enterprise_course(code, form, status=409)
    except CsvFormatError as exc:
        form.file.errors = [exc.localised()]
        return enterprise_course(code, form, status=400)
    flash(_("Completions recorded: %(count)s.", count=report.created + report.updated), "success")
    return redirect(url_for("benefits.enterprise_course", code=course.code))


@bp.post("/enterprise/training/claim")
@roles_required(Role.ENTERPRISE_ADMIN)
def enterprise_claim():
    enterprise = current_enterprise()
    now = clock.now()

    def submit() -> None:
        claim = submit_subsidy_claim(db.session, context.programme(), enterprise, now,
                                              actor=current_user._get_current_object())
        audit("training.claim_submit", target_type="training_subsidy_claim", target_id=claim.id, now=now,
              details={"amount_fen": claim.amount_fen})

    if run_action(ActionForm(), submit):
        flash(_("Claim submitted for review."), "success")
    return redirect(url_for("benefits.enterprise_training"))
