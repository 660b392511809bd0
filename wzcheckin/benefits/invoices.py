"""Benefits room, skills training (P6): online-course invoices and the cost per person an
official (人社局) approves against them — the only cost the online subsidy reads."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.benefits.attendance import claim_deadline_problem
from wzcheckin.benefits.courses import MAX_COST_YUAN
from wzcheckin.benefits.errors import BenefitRefused
from wzcheckin.benefits.models import (
    Course,
    CourseInvoice,
    CourseMode,
    InvoiceStatus,
)
from wzcheckin.benefits.money import parse_yuan
from wzcheckin.programme import Programme

MAX_INVOICE_YUAN = 100_000_000
INVOICE_MAX_BYTES = 5 * 1024 * 1024
INVOICE_NO_PATTERN = re.compile(r"^[A-Za-z0-9\-]{1,40}$")



_INVOICE_SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
INVOICE_EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def detect_invoice_type(data: bytes) -> str | None:
    """PDF, JPEG or PNG by the file's first bytes; anything else (HTML, SVG, ...) is refused."""
    return next((content_type for signature, content_type in _INVOICE_SIGNATURES if data.startswith(signature)), None)


@dataclass
class InvoiceInput:
    """An invoice as typed in the enterprise's form (text) with the uploaded file's bytes."""

    invoice_no: str = ""
    amount_yuan: str = ""
    cost_yuan: str = ""          # the cost per person the enterprise proposes
    data: bytes | None = None


def latest_invoice(session: Session, course_id: int) -> CourseInvoice | None:
    return session.scalar(sa.select(CourseInvoice).where(CourseInvoice.course_id == course_id)
                          .order_by(CourseInvoice.id.desc()).limit(1))


def course_invoices(session: Session, course_id: int) -> list[CourseInvoice]:
    return list(session.scalars(sa.select(CourseInvoice).where(CourseInvoice.course_id == course_id)
                                .order_by(CourseInvoice.id.desc())))


def upload_invoice(session: Session, programme: Programme, course: Course, data: InvoiceInput, now: datetime,
                   actor=None) -> CourseInvoice:
    """The organising enterprise attaches the invoice of an online course and proposes a cost
    per person; it waits for an official. A new invoice supersedes the earlier ones (and their
    approval). Refusals: ``invoice_online_only``, ``claim_deadline_passed``, field errors."""
    if course.mode is not CourseMode.ONLINE or course.enterprise_id is None:
        raise BenefitRefused("invoice_online_only", status=422)
    late = claim_deadline_problem(programme, now)
    if late is not None:
        raise late
    errors: dict[str, str] = {}
    invoice_no = (data.invoice_no or "").strip()
    if not invoice_no:
        errors["invoice_no"] = "required"
    elif not INVOICE_NO_PATTERN.match(invoice_no):
        errors["invoice_no"] = "invoice_no_format"
    amounts: dict[str, int] = {}
    for name, text, maximum in (("amount_yuan", data.amount_yuan, MAX_INVOICE_YUAN),
                                ("cost_yuan", data.cost_yuan, MAX_COST_YUAN)):
        try:
            amounts[name] = parse_yuan(text, maximum_yuan=maximum)
        except ValueError as exc:
            errors[name] = str(exc)
    if amounts.get("cost_yuan") == 0:
        errors["cost_yuan"] = "out_of_range"
    elif len(amounts) == 2 and amounts["cost_yuan"] > amounts["amount_yuan"]:
        errors["cost_yuan"] = "cost_above_invoice"
    if not data.data:
        errors["file"] = "invoice_required"
    elif len(data.data) > INVOICE_MAX_BYTES:
        errors["file"] = "invoice_too_large"
    content_type = detect_invoice_type(data.data) if data.data else None
    if data.data and len(data.data) <= INVOICE_MAX_BYTES and content_type is None:
        errors["file"] = "invoice_type"
    if errors:
        raise BenefitRefused.fields(errors)
    invoice = CourseInvoice(
        course_id=course.id, invoice_no=invoice_no, amount_fen=amounts["amount_yuan"],
        proposed_cost_per_person_fen=amounts["cost_yuan"], content_type=content_type,
        size=len(data.data), sha256=hashlib.sha256(data.data).hexdigest(), data=data.data, uploaded_at=now,
        uploaded_by_user_id=getattr(actor, "id", None), status=InvoiceStatus.SUBMITTED, review_note="")
    session.add(invoice)
    session.flush()
    return invoice


def review_invoice(session: Session, invoice_id: int, *, approve: bool, cost_yuan: str, note: str, now: datetime,
                   actor=None) -> CourseInvoice:
    """An official (人社局) approves a cost per person against the invoice — at most the cost the
    enterprise proposed — or rejects it with a reason. Only the course's latest invoice may be
    reviewed (``invoice_superseded``).

    Concurrency: a conditional UPDATE on ``status = 'submitted'`` — of two reviewers at once, the
    second finds nothing to update (``already_reviewed``). An invoice uploaded while this one is
    approved supersedes it: only the latest invoice's approval ever counts.
    """
    invoice = session.get(CourseInvoice, invoice_id)
    if invoice is None:
        raise BenefitRefused("not_found", status=404)
    latest = latest_invoice(session, invoice.course_id)
    if latest is not None and latest.id != invoice.id:
        raise BenefitRefused("invoice_superseded")
    note = (note or "").strip()
    if len(note) > 2000:
        raise BenefitRefused("too_long", status=422, field="note")
    approved_fen = None
    if approve:
        try:
            approved_fen = parse_yuan(cost_yuan, maximum_yuan=MAX_COST_YUAN)
        except ValueError as exc:
            raise BenefitRefused(str(exc), status=422, field="cost_yuan") from None
        if approved_fen > invoice.proposed_cost_per_person_fen:
            raise BenefitRefused("approved_above_proposed", status=422, field="cost_yuan")
    elif not note:
        raise BenefitRefused("reason_required", status=422, field="note")
    result = session.execute(
        sa.update(CourseInvoice)
        .where(CourseInvoice.id == invoice.id, CourseInvoice.status == InvoiceStatus.SUBMITTED)
        .values(status=InvoiceStatus.APPROVED if approve else InvoiceStatus.REJECTED,
                approved_cost_per_person_fen=approved_fen, reviewed_at=now,
                reviewed_by_user_id=getattr(actor, "id", None), review_note=note)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise BenefitRefused("already_reviewed")
    session.refresh(invoice)
    return invoice


def approved_cost_fen(invoice: CourseInvoice | None) -> int | None:
    """The official-approved cost per person, from the course's latest invoice; None else."""
    if invoice is None or invoice.status is not InvoiceStatus.APPROVED:
        return None
    return invoice.approved_cost_per_person_fen
