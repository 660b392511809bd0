"""Benefits room, skills training (P6): courses and their class sessions — checked, saved,
imported — and what a worker sees of them. The subsidy rules are in ``training_subsidy``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.models import Worker
from wzcheckin.benefits.errors import BenefitRefused
from wzcheckin.benefits.models import (
    Attendance,
    ClassSession,
    Course,
    CourseMode,
    Enrolment,
)
from wzcheckin.benefits.money import parse_yuan
from wzcheckin.core.csv_import import ImportReport, describe_field_errors, import_rows
from wzcheckin.core.identity import InvalidIdentifier, parse_credit_code
from wzcheckin.core.refusals import Refusal
from wzcheckin.directory.checkpoints import ensure_checkpoint
from wzcheckin.directory.models import Enterprise
from wzcheckin.programme import Programme
from wzcheckin.scanning.models import CheckpointKind

CODE_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{2,40}$")
COURSE_COLUMNS = ("code", "title", "mode", "provider", "class_hours", "cost_yuan", "credit_code", "district",
                  "address", "starts_on", "ends_on", "capacity")
# An offline course's class sessions: "2021-02-15 4; 2021-02-16 4" (a day and its class hours).
# Optional in a courses file, so a file written before sessions existed still reads.
SESSIONS_COLUMN = "sessions"
MAX_CLASS_HOURS = 1000
MAX_SESSION_HOURS = 24      # a physical bound (hours in a day), not a policy figure
MAX_SESSIONS = 366
MAX_COST_YUAN = 100_000
_SESSION_PATTERN = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*(?:\s|:|=)\s*(\d{1,3})$")



@dataclass
class CourseInput:
    """A course as typed in a form or a CSV line (all text)."""

    code: str = ""
    title: str = ""
    mode: str = ""
    provider: str = ""
    class_hours: str = ""
    cost_yuan: str = ""
    credit_code: str = ""
    district: str = ""
    address: str = ""
    starts_on: str | date | None = None
    ends_on: str | date | None = None
    capacity: str = ""
    description: str = ""
    sessions: str = ""


@dataclass
class CleanCourse:
    code: str
    title: str
    mode: CourseMode
    provider: str
    class_hours: int
    cost_per_person_fen: int
    enterprise: Enterprise | None
    district: str
    address: str
    starts_on: date
    ends_on: date
    capacity: int | None
    description: str
    sessions: list[tuple[date, int]] = field(default_factory=list)


def parse_sessions(text: str) -> list[tuple[date, int]]:
    """"2021-02-15 4; 2021-02-16 4" (or one per line) → [(day, class hours), ...] in day order.
    Raises ValueError with a field-error code."""
    entries = [part.strip() for part in re.split(r"[;\n]", text or "") if part.strip()]
    if not entries:
        raise ValueError("required")
    if len(entries) > MAX_SESSIONS:
        raise ValueError("out_of_range")
    sessions: dict[date, int] = {}
    for entry in entries:
        match = _SESSION_PATTERN.match(entry)
        if match is None:
            raise ValueError("session_format")
        try:
            day = date.fromisoformat(match.group(1))
        except ValueError:
            raise ValueError("session_format") from None
        hours = int(match.group(2))
        if not 1 <= hours <= MAX_SESSION_HOURS:
            raise ValueError("session_hours")
        if day in sessions:
            raise ValueError("session_repeated")
        sessions[day] = hours
    return sorted(sessions.items())


def sessions_text(sessions) -> str:
    """The form's text for a course's sessions (rows with ``day`` and ``class_hours``)."""
    return "\n".join(f"{s.day.isoformat()} {s.class_hours}" for s in sessions)


def _parse_date(value: str | date | None) -> date:
    if isinstance(value, date):
        return value
    text = (value or "").strip()
    if not text:
        raise ValueError("required")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError("date_format") from None


def _parse_int(text: str, low: int, high: int) -> int:
    cleaned = (text or "").strip()
    if not cleaned:
        raise ValueError("required")
    if not cleaned.isdigit():
        raise ValueError("number_format")
    value = int(cleaned)
    if not low <= value <= high:
        raise ValueError("out_of_range")
    return value


def _text(value: str, limit: int, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValueError("required")
    if len(text) > limit:
        raise ValueError("too_long")
    return text


def clean_course(session: Session, data: CourseInput, *, fixed_enterprise: Enterprise | None = None) -> CleanCourse:
    """Validate every field; raise a field Refusal naming each bad one. ``fixed_enterprise`` is the
    enterprise admin's own enterprise (they cannot organise for another)."""
    errors: dict[str, str] = {}
    values: dict = {}

    def take(name: str, parse):
        try:
            values[name] = parse()
        except ValueError as exc:
            errors[name] = str(exc)

    take("code", lambda: _code(data.code))
    take("title", lambda: _text(data.title, 200, required=True))
    take("mode", lambda: _mode(data.mode))
    take("provider", lambda: _text(data.provider, 200, required=True))
    take("class_hours", lambda: _parse_int(data.class_hours, 1, MAX_CLASS_HOURS))
    take("cost_yuan", lambda: parse_yuan(data.cost_yuan, maximum_yuan=MAX_COST_YUAN))
    take("district", lambda: _text(data.district, 50, required=False))
    take("address", lambda: _text(data.address, 200, required=False))
    take("starts_on", lambda: _parse_date(data.starts_on))
    take("ends_on", lambda: _parse_date(data.ends_on))
    take("description", lambda: _text(data.description, 2000, required=False))
    take("capacity", lambda: None if not (data.capacity or "").strip() else _parse_int(data.capacity, 1, 100_000))
    if values.get("mode") is CourseMode.OFFLINE:
        take("sessions", lambda: parse_sessions(data.sessions))
    enterprise = fixed_enterprise
    if fixed_enterprise is None and (data.credit_code or "").strip():
        try:
            code = parse_credit_code(data.credit_code)
            enterprise = session.scalar(sa.select(Enterprise).where(Enterprise.credit_code == code))
            if enterprise is None:
                errors["credit_code"] = "enterprise_unknown"
        except InvalidIdentifier as exc:
            errors["credit_code"] = exc.code
    if "starts_on" in values and "ends_on" in values and values["ends_on"] < values["starts_on"]:
        errors["ends_on"] = "date_order"
    if values.get("mode") is CourseMode.OFFLINE and not values.get("address") and "address" not in errors:
        errors["address"] = "required"
    sessions = values.get("sessions") or []
    if sessions and "sessions" not in errors:
        if "starts_on" in values and "ends_on" in values and any(
                not values["starts_on"] <= day <= values["ends_on"] for day, _hours in sessions):
            errors["sessions"] = "session_outside_course"
        elif "class_hours" in values and sum(hours for _day, hours in sessions) != values["class_hours"]:
            errors["sessions"] = "session_hours_total"
    if errors:
        raise BenefitRefused.fields(errors)
    return CleanCourse(
        code=values["code"], title=values["title"], mode=values["mode"], provider=values["provider"],
        class_hours=values["class_hours"], cost_per_person_fen=values["cost_yuan"], enterprise=enterprise,
        district=values["district"], address=values["address"], starts_on=values["starts_on"],
        ends_on=values["ends_on"], capacity=values["capacity"], description=values["description"],
        sessions=sessions,
    )


def _code(value: str) -> str:
    code = (value or "").strip()
    if not code:
        raise ValueError("required")
    if not CODE_PATTERN.match(code):
        raise ValueError("code_format")
    return code


def _mode(value: str) -> CourseMode:
    try:
        return CourseMode((value or "").strip().lower())
    except ValueError:
        raise ValueError("choice_unknown") from None


def find_course(session: Session, code: str) -> Course | None:
    return session.scalar(sa.select(Course).where(Course.code == code))


def course_sessions(session: Session, course_id: int) -> list[ClassSession]:
    return list(session.scalars(sa.select(ClassSession).where(ClassSession.course_id == course_id)
                                .order_by(ClassSession.day)))


def session_on(session: Session, course_id: int, day: date) -> ClassSession | None:
    return session.scalar(sa.select(ClassSession).where(ClassSession.course_id == course_id, ClassSession.day == day))


def _attended_session_days(session: Session, course_id: int) -> set[date]:
    return set(session.scalars(
        sa.select(Attendance.day).join(Enrolment, Enrolment.id == Attendance.enrolment_id)
        .where(Enrolment.course_id == course_id).distinct()))


def _replace_sessions(session: Session, course: Course, wanted: list[tuple[date, int]]) -> None:
    """Make the course's sessions ``wanted``. A session somebody attended keeps its day and its
    hours (the attendance was earned on them); raises the refusal ``session_attended`` else."""
    existing = {s.day: s for s in course_sessions(session, course.id)}
    wanted_hours = dict(wanted)
    attended = _attended_session_days(session, course.id) if existing else set()
    if any(day in attended and wanted_hours.get(day) != row.class_hours for day, row in existing.items()):
        raise BenefitRefused.fields({"sessions": "session_attended"})
    for day, row in existing.items():
        if day not in wanted_hours:
            session.delete(row)
        else:
            row.class_hours = wanted_hours[day]
    for day, hours in wanted:
        if day not in existing:
            session.add(ClassSession(course_id=course.id, day=day, class_hours=hours))
    session.flush()


def save_course(session: Session, clean: CleanCourse, now: datetime, *, course: Course | None = None) -> Course:
    """Create a course (``course`` None) or update one; its code never changes. An offline
    course gets its attendance checkpoint ``training:<code>`` and its class sessions."""
    if course is None:
        if find_course(session, clean.code) is not None:
            raise BenefitRefused.fields({"code": "code_taken"})
        course = Course(code=clean.code, created_at=now)
        session.add(course)
    course.title = clean.title
    course.mode = clean.mode
    course.provider = clean.provider
    course.class_hours = clean.class_hours
    course.cost_per_person_fen = clean.cost_per_person_fen
    course.enterprise = clean.enterprise
    course.district = clean.district
    course.address = clean.address
    course.starts_on = clean.starts_on
    course.ends_on = clean.ends_on
    course.capacity = clean.capacity
    course.description = clean.description
    course.updated_at = now
    session.flush()
    if course.mode is CourseMode.OFFLINE:
        checkpoint = ensure_checkpoint(session, CheckpointKind.TRAINING, course.code, name=course.title,
                                       district=course.district, now=now)
        course.checkpoint_id = checkpoint.id
        _replace_sessions(session, course, clean.sessions)
    session.flush()
    return course


def import_courses(session: Session, text: str, now: datetime, progress=None) -> ImportReport:
    """``wzcheckin import courses``: all or nothing; re-importing a code updates it."""

    columns = _course_columns(text)

    def parse(row: dict[str, str]) -> CleanCourse:
        try:
            return clean_course(session, CourseInput(**{column: row[column] for column in columns}))
        except Refusal as exc:
            raise ValueError(describe_field_errors(exc.errors)) from None

    def mode_unchanged(clean: CleanCourse) -> None:
        existing = find_course(session, clean.code)
        if existing is not None and existing.mode is not clean.mode:
            raise ValueError("mode: a course's mode cannot change once created")

    def upsert(clean: CleanCourse) -> bool:
        existing = find_course(session, clean.code)
        try:
            save_course(session, clean, now, course=existing)
        except Refusal as exc:
            raise ValueError(describe_field_errors(exc.errors)) from None
        return existing is None

    return import_rows(text, columns, parse, upsert, unique=[("code", lambda clean: clean.code)],
                       check=mode_unchanged, progress=progress)


def _course_columns(text: str) -> tuple[str, ...]:
    """The courses file's columns: with ``sessions`` when its header names it."""
    first_line = (text or "").lstrip("\ufeff").split("\n", 1)[0]
    named = {column.strip().strip('"').lower() for column in first_line.split(",")}
    return (*COURSE_COLUMNS, SESSIONS_COLUMN) if SESSIONS_COLUMN in named else COURSE_COLUMNS


def courses_for_worker(session: Session, worker: Worker, programme: Programme, now: datetime,
                       *, district: str | None = None, mode: str | None = None) -> list[Course]:
    """Courses a worker may join: not ended, city-run or run by their own employer."""
    today = programme.local_date(now)
    query = sa.select(Course).where(Course.ends_on >= today)
    employer = sa.or_(Course.enterprise_id.is_(None), Course.enterprise_id == worker.enterprise_id) \
        if worker.enterprise_id is not None else Course.enterprise_id.is_(None)
    query = query.where(employer)
    if district:
        query = query.where(Course.district == district)
    if mode in (CourseMode.ONLINE.value, CourseMode.OFFLINE.value):
        query = query.where(Course.mode == CourseMode(mode))
    return list(session.scalars(query.order_by(Course.starts_on, Course.code).limit(200)))


def enrolment_counts(session: Session, course_ids: list[int]) -> dict[int, int]:
    if not course_ids:
        return {}
    rows = session.execute(sa.select(Enrolment.course_id, sa.func.count()).where(Enrolment.course_id.in_(course_ids))
                           .group_by(Enrolment.course_id))
    return dict(rows.all())


def worker_enrolments(session: Session, worker_id: int) -> list[Enrolment]:
    return list(session.scalars(sa.select(Enrolment).where(Enrolment.worker_id == worker_id)
                                .order_by(Enrolment.enrolled_at)))


def attended_days(session: Session, enrolment_ids: list[int]) -> dict[int, list[date]]:
    found: dict[int, list[date]] = {enrolment_id: [] for enrolment_id in enrolment_ids}
    if not enrolment_ids:
        return found
    for enrolment_id, day in session.execute(
            sa.select(Attendance.enrolment_id, Attendance.day).where(Attendance.enrolment_id.in_(enrolment_ids))
            .order_by(Attendance.day)):
        found[enrolment_id].append(day)
    return found
