"""Benefits room, skills training (P6): enrolment, attendance at offline classes (a staff scan
at the checkpoint ``training:<code>``) and completions of online courses uploaded by the
organising enterprise, before the claim deadline."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.lookups import find_worker_by_id_number
from wzcheckin.accounts.models import Worker
from wzcheckin.benefits.courses import _parse_date
from wzcheckin.benefits.errors import BenefitRefused
from wzcheckin.benefits.models import (
    Attendance,
    Course,
    Enrolment,
)
from wzcheckin.core.csv_import import ImportReport, import_rows
from wzcheckin.core.identity import InvalidIdentifier, parse_id_number
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.core.refusals import insert_or_refuse, insert_unique
from wzcheckin.programme import Programme

COMPLETION_COLUMNS = ("id_number", "completed_on")



def find_enrolment(session: Session, course_id: int, worker_id: int) -> Enrolment | None:
    return session.scalar(sa.select(Enrolment).where(Enrolment.course_id == course_id,
                                                     Enrolment.worker_id == worker_id))


def enrol(session: Session, programme: Programme, course: Course, worker: Worker, now: datetime,
          *, via: str = "self") -> Enrolment:
    """Join a course. Refusals: ``course_closed``, ``not_employee`` (an enterprise's course is
    for its own employees), ``already_enrolled``, ``course_full``.

    Concurrency: the course row is locked (``FOR UPDATE`` on PostgreSQL; SQLite holds the write
    lock from BEGIN IMMEDIATE) before counting places, and UNIQUE (course, worker) with a
    savepoint turns a concurrent double enrolment into ``already_enrolled``.
    """
    if programme.local_date(now) > course.ends_on:
        raise BenefitRefused("course_closed")
    if course.enterprise_id is not None and worker.enterprise_id != course.enterprise_id:
        raise BenefitRefused("not_employee", status=403)
    session.execute(sa.select(Course.id).where(Course.id == course.id).with_for_update())
    if find_enrolment(session, course.id, worker.id) is not None:
        raise BenefitRefused("already_enrolled")
    if course.capacity is not None:
        taken = session.scalar(sa.select(sa.func.count()).select_from(Enrolment)
                               .where(Enrolment.course_id == course.id))
        if taken >= course.capacity:
            raise BenefitRefused("course_full")
    enrolment = Enrolment(course_id=course.id, worker_id=worker.id, enrolled_at=now, enrolled_via=via)
    # UNIQUE (course, worker): enrolled once, however many taps.
    insert_or_refuse(session, BenefitRefused("already_enrolled"), enrolment)
    return enrolment


def record_attendance(session: Session, programme: Programme, course: Course, worker: Worker, at: datetime,
                      *, staff=None, scan_id: str | None = None) -> tuple[Attendance | None, bool]:
    """Attendance at an offline class, from an accepted scan at ``at``: (row, created). A second
    scan the same day records nothing new. A walk-in who may join is enrolled at the door."""
    enrolment = find_enrolment(session, course.id, worker.id)
    if enrolment is None:
        enrolment = enrol(session, programme, course, worker, at, via="door")
    day = programme.local_date(at)
    existing = session.scalar(sa.select(Attendance).where(Attendance.enrolment_id == enrolment.id,
                                                          Attendance.day == day))
    if existing is not None:
        return existing, False
    attendance = Attendance(enrolment_id=enrolment.id, day=day, attended_at=at,
                            staff_user_id=getattr(staff, "id", None), scan_id=scan_id or None)
    if not insert_unique(session, attendance):  # UNIQUE (enrolment, day): two scans of one worker at once
        return None, False
    return attendance, True


def claim_deadline_problem(programme: Programme, now: datetime) -> BenefitRefused | None:
    """``claim_deadline_passed`` after the programme's ``[training] claim_deadline`` (local day)."""
    deadline = programme.training.claim_deadline
    if programme.local_date(now) > deadline:
        return BenefitRefused("claim_deadline_passed", deadline=deadline.isoformat())
    return None


def upload_completions(session: Session, vault: PersonalDataVault, programme: Programme, course: Course,
                       text: str, now: datetime) -> ImportReport:
    """An online course's completions (``id_number,completed_on``), uploaded by the organising
    enterprise by the claim deadline (else ``claim_deadline_passed``). All or nothing. Each
    completion is dated inside the programme and the course: from the later of the programme's
    start and the course's first day to the earlier of ``online_deadline`` and today. An
    employee not yet enrolled is enrolled by the upload."""
    late = claim_deadline_problem(programme, now)
    if late is not None:
        raise late
    today = programme.local_date(now)
    first_day = max(course.starts_on, programme.programme.starts)
    last_day = min(today, programme.training.online_deadline)

    def parse(row: dict[str, str]) -> tuple[Worker, date]:
        try:
            id_number = parse_id_number(row["id_number"], today=today).value
        except InvalidIdentifier as exc:
            raise ValueError(f"id_number: {exc.code}") from None
        try:
            completed_on = _parse_date(row["completed_on"])
        except ValueError as exc:
            raise ValueError(f"completed_on: {exc}") from None
        if not first_day <= completed_on <= last_day:
            raise ValueError(f"completed_on: must lie between {first_day} and {last_day} (inside the programme and "
                             f"the course, by the online deadline, not in the future)")
        worker = find_worker_by_id_number(session, vault, id_number)
        if worker is None:
            raise ValueError("id_number: no registered worker has this ID number")
        enrolled = find_enrolment(session, course.id, worker.id) is not None
        if not enrolled and (course.enterprise_id is None or worker.enterprise_id != course.enterprise_id):
            raise ValueError("id_number: not enrolled, and not an employee of the organiser")
        return worker, completed_on

    def record(completion: tuple[Worker, date]) -> bool:
        worker, completed_on = completion
        enrolment = find_enrolment(session, course.id, worker.id)
        created = enrolment is None
        if created:
            enrolment = Enrolment(course_id=course.id, worker_id=worker.id, enrolled_at=now, enrolled_via="upload")
            session.add(enrolment)
        enrolment.completed_on = completed_on
        enrolment.completion_recorded_at = now
        return created

    report = import_rows(text, COMPLETION_COLUMNS, parse, record,
                         unique=[("id_number", lambda completion: completion[0].id)])
    if report.ok:
        session.flush()
    return report
