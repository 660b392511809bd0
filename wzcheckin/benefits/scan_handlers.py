"""Benefits room, scan handler: attendance at an offline training class (P6). Venue staff bound to
the course's checkpoint ``training:<code>`` scan the worker's pass; an accepted attendance is
presence evidence like any staff scan."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from wzcheckin.benefits.attendance import record_attendance
from wzcheckin.benefits.courses import session_on
from wzcheckin.benefits.errors import BenefitRefused
from wzcheckin.benefits.models import Course
from wzcheckin.scanning.messages import REASON_MESSAGES
from wzcheckin.scanning.services import (
    Outcome,
    ScanContext,
    ScanRefused,
    resolve_worker_pass,
    worker_subject,
)

# Reason codes of this handler (stable API); "attendance_recorded" is the scanning room's.
REASON_MESSAGES.update({
    "no_class_today": _l("No class session of this course today (the course runs %(starts_on)s to %(ends_on)s)."),
    "not_enrolled": _l("Not enrolled: this course is for the organising enterprise's employees."),
    "course_full": _l("This course is full: the worker is not enrolled."),
})


def training_attendance(ctx: ScanContext) -> Outcome:
    worker = resolve_worker_pass(ctx)
    course = ctx.session.scalar(sa.select(Course).where(Course.checkpoint_id == ctx.checkpoint.id))
    if course is None:
        raise ScanRefused("checkpoint_unavailable", worker=worker)
    subject = {**worker_subject(worker), "course": course.title}
    day = ctx.programme.local_date(ctx.scanned_at)
    # Attendance is of a class session: a day without one (inside the course's dates or not)
    # records nothing, so no hours are ever earned on a day the class did not meet.
    if session_on(ctx.session, course.id, day) is None:
        raise ScanRefused("no_class_today", worker=worker, subject=subject,
                          details={"course": course.code, "starts_on": course.starts_on.isoformat(),
                                   "ends_on": course.ends_on.isoformat()})
    try:
        _attendance, created = record_attendance(ctx.session, ctx.programme, course, worker, ctx.scanned_at,
                                                 staff=ctx.staff, scan_id=getattr(ctx, "scan_id", None))
    except BenefitRefused as refusal:
        reason = "not_enrolled" if refusal.code == "not_employee" else refusal.code
        raise ScanRefused(reason, worker=worker, subject=subject, details={"course": course.code}) from None
    return Outcome("attendance_recorded", worker=worker, subject=subject,
                   details={"course": course.code, "day": day.isoformat(), "first_today": created})
