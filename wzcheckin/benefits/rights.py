"""Benefits room, legal rights (P10, 合法权益有保障): a worker's wage-arrears complaint (欠薪投诉)
against an employer, handled by officials (received → handling → resolved, with notes). The
worker and, when the employer is registered, that enterprise's admin see its status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.models import Worker
from wzcheckin.benefits.errors import BenefitRefused
from wzcheckin.benefits.models import ComplaintNote, ComplaintStatus, WageComplaint
from wzcheckin.benefits.money import parse_yuan
from wzcheckin.core.identity import InvalidIdentifier, parse_credit_code
from wzcheckin.directory.models import Enterprise

MAX_MONTHS = 60
MAX_AMOUNT_YUAN = 10_000_000
# Forward moves only; a note alone keeps the status.
_NEXT = {
    ComplaintStatus.RECEIVED: {ComplaintStatus.RECEIVED, ComplaintStatus.HANDLING, ComplaintStatus.RESOLVED},
    ComplaintStatus.HANDLING: {ComplaintStatus.HANDLING, ComplaintStatus.RESOLVED},
    ComplaintStatus.RESOLVED: set(),
}


@dataclass
class ComplaintInput:
    credit_code: str = ""
    employer_name: str = ""
    months: str = ""
    amount_yuan: str = ""
    description: str = ""


def file_complaint(session: Session, worker: Worker, data: ComplaintInput, now: datetime) -> WageComplaint:
    """Validate every field (a field Refusal names each bad one) and file the complaint."""
    errors: dict[str, str] = {}
    enterprise = None
    if (data.credit_code or "").strip():
        try:
            code = parse_credit_code(data.credit_code)
            enterprise = session.scalar(sa.select(Enterprise).where(Enterprise.credit_code == code))
            if enterprise is None and not (data.employer_name or "").strip():
                errors["credit_code"] = "enterprise_unknown"
        except InvalidIdentifier as exc:
            errors["credit_code"] = exc.code
    employer_name = (data.employer_name or "").strip()
    if len(employer_name) > 200:
        errors["employer_name"] = "too_long"
    if enterprise is None and not employer_name and "credit_code" not in errors:
        errors["employer_name"] = "enterprise_or_name"
    months_text = (data.months or "").strip()
    months = 0
    if not months_text:
        errors["months"] = "required"
    elif not months_text.isdigit():
        errors["months"] = "number_format"
    elif not 1 <= int(months_text) <= MAX_MONTHS:
        errors["months"] = "out_of_range"
    else:
        months = int(months_text)
    amount_fen = 0
    try:
        amount_fen = parse_yuan(data.amount_yuan, maximum_yuan=MAX_AMOUNT_YUAN)
        if amount_fen <= 0:
            errors["amount_yuan"] = "out_of_range"
    except ValueError as exc:
        errors["amount_yuan"] = str(exc)
    description = (data.description or "").strip()
    if not description:
        errors["description"] = "required"
    elif len(description) > 2000:
        errors["description"] = "too_long"
    if errors:
        raise BenefitRefused.fields(errors)
    complaint = WageComplaint(
        worker_id=worker.id, enterprise_id=enterprise.id if enterprise else None,
        employer_name=enterprise.name if enterprise else employer_name, months=months, amount_fen=amount_fen,
        description=description, status=ComplaintStatus.RECEIVED, filed_at=now, updated_at=now,
    )
    session.add(complaint)
    session.flush()
    return complaint


def handle_complaint(session: Session, complaint_id: int, *, status: str, note: str, now: datetime,
                     actor=None) -> WageComplaint:
    """An official's step: a note, optionally moving the complaint forward. Resolving needs a
    note. The row is locked so two officials' steps apply one after the other."""
    try:
        new_status = ComplaintStatus(status)
    except ValueError:
        raise BenefitRefused("choice_unknown", status=422, field="status") from None
    note = (note or "").strip()
    if not note:
        raise BenefitRefused("note_required", status=422, field="note")
    if len(note) > 2000:
        raise BenefitRefused("too_long", status=422, field="note")
    locked = session.scalar(sa.select(WageComplaint.id).where(WageComplaint.id == complaint_id).with_for_update())
    complaint = session.get(WageComplaint, locked, populate_existing=True) if locked is not None else None
    if complaint is None:
        raise BenefitRefused("not_found", status=404)
    if new_status not in _NEXT[complaint.status]:
        raise BenefitRefused("status_order", status=409, field="status")
    complaint.status = new_status
    complaint.updated_at = now
    if new_status is ComplaintStatus.RESOLVED:
        complaint.resolved_at = now
    session.add(ComplaintNote(complaint_id=complaint.id, at=now, author_user_id=getattr(actor, "id", None),
                              status=new_status.value, note=note))
    session.flush()
    return complaint


def worker_complaints(session: Session, worker_id: int) -> list[WageComplaint]:
    return list(session.scalars(sa.select(WageComplaint).where(WageComplaint.worker_id == worker_id)
                                .order_by(WageComplaint.id.desc())))


def enterprise_complaints(session: Session, enterprise_id: int) -> list[WageComplaint]:
    return list(session.scalars(sa.select(WageComplaint).where(WageComplaint.enterprise_id == enterprise_id)
                                .order_by(WageComplaint.id.desc())))


def all_complaints(session: Session, status: str | None = None, limit: int = 200) -> list[WageComplaint]:
    query = sa.select(WageComplaint)
    if status in {s.value for s in ComplaintStatus}:
        query = query.where(WageComplaint.status == ComplaintStatus(status))
    return list(session.scalars(query.order_by(WageComplaint.id.desc()).limit(limit)))


def complaint_counts(session: Session) -> dict[str, int]:
    counts = {status.value: 0 for status in ComplaintStatus}
    for status, count in session.execute(sa.select(WageComplaint.status, sa.func.count())
                                         .group_by(WageComplaint.status)):
        counts[str(status)] = count
    return counts


def next_statuses(complaint: WageComplaint) -> list[str]:
    order = [ComplaintStatus.RECEIVED, ComplaintStatus.HANDLING, ComplaintStatus.RESOLVED]
    return [s.value for s in order if s in _NEXT[complaint.status]]
