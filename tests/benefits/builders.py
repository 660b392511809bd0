"""Builders for the benefits room's tests: each makes one valid object through the domain
functions and returns it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from tests.builders import BUILD_TIME, unique
from wzcheckin.benefits import activities as acts
from wzcheckin.benefits.courses import CourseInput, clean_course, save_course
from wzcheckin.benefits.errors import BenefitRefused
from wzcheckin.benefits.invoices import InvoiceInput, review_invoice, upload_invoice
from wzcheckin.benefits.models import Attendance, Enrolment

# The smallest valid PNG (1×1, transparent) and a JPEG header: detected by content, not by name.
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000000500010d0a2db40000000049454e44ae426082")


def refusal(call) -> BenefitRefused:
    """The :class:`BenefitRefused` that ``call()`` raises (the test fails if it raises none)."""
    with pytest.raises(BenefitRefused) as caught:
        call()
    return caught.value


def daily_sessions(class_hours: int, starts_on: date, ends_on: date) -> str:
    """A session on each day of the course, the hours shared out in whole hours (the first days
    take the remainder; days beyond the hours get no session)."""
    days = [starts_on + timedelta(days=n) for n in range((ends_on - starts_on).days + 1)][:class_hours]
    base, extra = divmod(class_hours, len(days))
    return "\n".join(f"{day.isoformat()} {base + (1 if n < extra else 0)}" for n, day in enumerate(days))


def make_course(session, *, enterprise=None, mode: str = "offline", class_hours: int = 80,
                cost_yuan: str = "1000", starts_on: date = date(2021, 2, 11), ends_on: date = date(2021, 2, 20),
                capacity: str = "", code: str | None = None, sessions: str | None = None,
                now: datetime = BUILD_TIME):
    """A course; an offline one gets ``sessions`` (default: one each day, see daily_sessions)."""
    if sessions is None and mode == "offline":
        sessions = daily_sessions(class_hours, starts_on, ends_on)
    data = CourseInput(
        code=code or f"C-{unique()}", title=f"课程{unique()}", mode=mode, provider="温州职业技能培训中心",
        class_hours=str(class_hours), cost_yuan=cost_yuan, credit_code=enterprise.credit_code if enterprise else "",
        district="瓯海区", address="娄桥培训楼" if mode == "offline" else "", starts_on=starts_on, ends_on=ends_on,
        capacity=capacity, sessions=sessions or "")
    return save_course(session, clean_course(session, data), now)


# The smallest file that reads as a PDF by its first bytes.
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def approve_cost(session, programme, course, *, proposed_yuan: str, approved_yuan: str | None = None,
                 now: datetime = BUILD_TIME, official=None):
    """The organiser attaches an invoice proposing ``proposed_yuan`` per person and an official
    approves ``approved_yuan`` (default: as proposed)."""
    invoice = upload_invoice(session, programme, course, InvoiceInput(
        invoice_no=f"INV{unique()}", amount_yuan="100000000", cost_yuan=proposed_yuan, data=PDF_BYTES), now)
    return review_invoice(session, invoice.id, approve=True, cost_yuan=approved_yuan or proposed_yuan,
                                   note="", now=now, actor=official)


def enrol_directly(session, course, worker, *, completed_on: date | None = None, now: datetime = BUILD_TIME,
                   recorded_at: datetime | None = None):
    """An enrolment row without the enrolment rules (for arithmetic tests); a completion is
    recorded as uploaded at ``recorded_at`` (default ``now``)."""
    enrolment = Enrolment(course_id=course.id, worker_id=worker.id, enrolled_at=now, enrolled_via="self",
                          completed_on=completed_on,
                          completion_recorded_at=(recorded_at or now) if completed_on is not None else None)
    session.add(enrolment)
    session.flush()
    return enrolment


def attend(session, enrolment, *days: date, at: datetime = BUILD_TIME) -> None:
    for day in days:
        session.add(Attendance(enrolment_id=enrolment.id, day=day, attended_at=at))
    session.flush()


def make_activity(session, programme, *, kind: str = "landmark", starts_on: date = date(2021, 2, 1),
                  ends_on: date = date(2021, 2, 28), gift: str = "红包一份", now: datetime = BUILD_TIME):
    data = acts.ActivityInput(title=f"打卡{unique()}", title_en="Check-in", kind=kind, gift=gift,
                              gift_activity="健康有礼", district="鹿城区", place="江心屿" if kind == "landmark" else "",
                              starts_on=starts_on, ends_on=ends_on)
    return acts.save_activity(session, acts.clean_activity(data, programme), now)
