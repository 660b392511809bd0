"""Benefits room, skills training (P6, 职业技能培训): courses, their class sessions, enrolment,
attendance at offline classes (a staff scan at the checkpoint ``training:<code>``), completion of
online courses (uploaded by the organising enterprise), online-course invoices and the costs
officials approve against them, and the enterprise's training-subsidy claim.

The subsidy rules come from the programme file's ``[training]`` section:

* online training: the cost per person is the one an official (人社局) approved against the
  course's latest invoice — never the enterprise's own price — at most
  ``online_cost_cap_yuan_per_person``; the subsidy is ``online_subsidy_rate`` (95 %) of it,
  rounded down to the fen ("不超过实际培训费用95%"), for each completion dated inside the
  programme (``[programme] starts`` … ``online_deadline``) and uploaded by ``claim_deadline``;
* project-based (offline) training: each class session carries its own class hours; attending a
  session inside ``project_period_start`` … ``project_period_end`` earns its hours at
  ``project_yuan_per_class_hour`` (25 ¥) per person, at most ``project_cap_yuan_per_person``
  (2,000 ¥) per person across all of the enterprise's courses. Hours are whole: nothing is
  spread over calendar days.

Completions are uploaded, invoices attached and the claim submitted by ``claim_deadline``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.models import Worker
from wzcheckin.accounts.services import find_worker_by_id_number
from wzcheckin.benefits.errors import BenefitRefused
from wzcheckin.benefits.models import (
    Attendance,
    ClassSession,
    Course,
    CourseInvoice,
    CourseMode,
    Enrolment,
    InvoiceStatus,
    SubsidyClaimStatus,
    TrainingSubsidyClaim,
)
from wzcheckin.benefits.money import FEN_PER_YUAN, fen_floor, parse_yuan
from wzcheckin.core.csv_import import ImportReport, describe_field_errors, import_rows
from wzcheckin.core.identity import InvalidIdentifier, mask_name, parse_credit_code, parse_id_number
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.core.refusals import Refusal, insert_or_refuse, insert_unique
from wzcheckin.enterprises.models import Enterprise
from wzcheckin.programme import Programme
from wzcheckin.scanning.checkpoints import ensure_checkpoint
from wzcheckin.scanning.models import CheckpointKind

CODE_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{2,40}$")
COURSE_COLUMNS = ("code", "title", "mode", "provider", "class_hours", "cost_yuan", "credit_code", "district",
                  "address", "starts_on", "ends_on", "capacity")
# An offline course's class sessions: "2021-02-15 4; 2021-02-16 4" (a day and its class hours).
# Optional in a courses file, so a file written before sessions existed still reads.
SESSIONS_COLUMN = "sessions"
COMPLETION_COLUMNS = ("id_number", "completed_on")
MAX_CLASS_HOURS = 1000
MAX_SESSION_HOURS = 24      # a physical bound (hours in a day), not a policy figure
MAX_SESSIONS = 366
MAX_COST_YUAN = 100_000
MAX_INVOICE_YUAN = 100_000_000
INVOICE_MAX_BYTES = 5 * 1024 * 1024
INVOICE_NO_PATTERN = re.compile(r"^[A-Za-z0-9\-]{1,40}$")
_SESSION_PATTERN = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*(?:\s|:|=)\s*(\d{1,3})$")


# --- courses ------------------------------------------------------------------------------------

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
        raise Refusal.fields(errors)
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
        raise Refusal.fields({"sessions": "session_attended"})
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
            raise Refusal.fields({"code": "code_taken"})
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


# --- enrolment and attendance -------------------------------------------------------------------

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


# --- online-course invoices and approved costs ------------------------------------------------------

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
        raise Refusal.fields(errors)
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


# --- the training subsidy -------------------------------------------------------------------------

@dataclass
class OnlineCourseLine:
    code: str
    title: str
    cost_status: str          # the latest invoice's status: "approved", "submitted", "rejected", or "no_invoice"
    proposed_cost_fen: int | None   # what the enterprise proposed with its invoice
    approved_cost_fen: int | None   # what an official approved (None: nothing counts yet)
    cost_per_person_fen: int  # the cost the rate applies to: approved, at most the programme's cap
    capped: bool              # the approved cost was above the cap
    per_person_fen: int       # rate × cost, rounded down
    completed: int            # completions recorded
    counted: int              # ... dated inside the programme, uploaded by the claim deadline
    late: int                 # ... not counted (dated or uploaded too late)
    amount_fen: int


@dataclass
class ProjectCourseHours:
    code: str
    days: int                 # attended class sessions inside the project period
    hours: str                # their class hours (whole hours, as text)


@dataclass
class ProjectPersonLine:
    worker_id: int
    name: str                 # masked
    id_tail: str
    courses: list[ProjectCourseHours]
    hours: str
    gross_fen: int            # hours × yuan per hour, before the cap
    amount_fen: int           # after the per-person cap
    capped: bool


@dataclass
class SubsidyBreakdown:
    online: list[OnlineCourseLine] = field(default_factory=list)
    project: list[ProjectPersonLine] = field(default_factory=list)
    online_fen: int = 0
    project_fen: int = 0
    total_fen: int = 0
    rules: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


def compute_training_subsidy(session: Session, programme: Programme, enterprise_id: int) -> SubsidyBreakdown:
    """The enterprise's training subsidy with its breakdown, by the programme's rules."""
    rules = programme.training
    rate = Decimal(str(rules.online_subsidy_rate))  # the TOML float 0.95 → exactly Decimal("0.95")
    online_cap_fen = rules.online_cost_cap_yuan_per_person * FEN_PER_YUAN
    per_hour_fen = rules.project_yuan_per_class_hour * FEN_PER_YUAN
    cap_fen = rules.project_cap_yuan_per_person * FEN_PER_YUAN
    uploaded_by = programme.local_day_end(rules.claim_deadline)
    breakdown = SubsidyBreakdown(rules={
        "online_subsidy_rate": str(rate), "online_deadline": rules.online_deadline.isoformat(),
        "online_cost_cap_yuan_per_person": rules.online_cost_cap_yuan_per_person,
        "programme_starts": programme.programme.starts.isoformat(),
        "project_yuan_per_class_hour": rules.project_yuan_per_class_hour,
        "project_cap_yuan_per_person": rules.project_cap_yuan_per_person,
        "project_period_start": rules.project_period_start.isoformat(),
        "project_period_end": rules.project_period_end.isoformat(),
        "claim_deadline": rules.claim_deadline.isoformat(),
    })
    courses = list(session.scalars(sa.select(Course).where(Course.enterprise_id == enterprise_id)
                                   .order_by(Course.code)))

    for course in (c for c in courses if c.mode is CourseMode.ONLINE):
        invoice = latest_invoice(session, course.id)
        approved = approved_cost_fen(invoice)
        cost = min(approved, online_cap_fen) if approved is not None else 0
        per_person = fen_floor(Decimal(cost) * rate)
        completions = session.execute(
            sa.select(Enrolment.completed_on, Enrolment.completion_recorded_at)
            .where(Enrolment.course_id == course.id, Enrolment.completed_on.is_not(None))).all()
        counted = sum(1 for day, recorded_at in completions
                      if programme.programme.starts <= day <= rules.online_deadline
                      and recorded_at is not None and recorded_at < uploaded_by)
        line = OnlineCourseLine(
            course.code, course.title, str(invoice.status) if invoice else "no_invoice",
            invoice.proposed_cost_per_person_fen if invoice else None, approved, cost,
            approved is not None and approved > online_cap_fen, per_person, len(completions), counted,
            len(completions) - counted, per_person * counted)
        breakdown.online.append(line)
        breakdown.online_fen += line.amount_fen

    # Each attended session earns its own class hours; a day without a session earns nothing.
    people: dict[int, dict] = {}
    offline = [c for c in courses if c.mode is CourseMode.OFFLINE]
    for course in offline:
        rows = session.execute(
            sa.select(Enrolment.worker_id, sa.func.count(Attendance.id), sa.func.sum(ClassSession.class_hours))
            .join(Attendance, Attendance.enrolment_id == Enrolment.id)
            .join(ClassSession, sa.and_(ClassSession.course_id == Enrolment.course_id,
                                        ClassSession.day == Attendance.day))
            .where(Enrolment.course_id == course.id, Attendance.day >= rules.project_period_start,
                   Attendance.day <= rules.project_period_end)
            .group_by(Enrolment.worker_id)
        )
        for worker_id, sessions, hours in rows:
            person = people.setdefault(worker_id, {"hours": 0, "courses": []})
            person["hours"] += int(hours)
            person["courses"].append(ProjectCourseHours(course.code, sessions, str(int(hours))))
    if people:
        workers = {w.id: w for w in session.scalars(sa.select(Worker).where(Worker.id.in_(list(people))))}
        for worker_id in sorted(people):
            person = people[worker_id]
            gross = person["hours"] * per_hour_fen
            amount = min(gross, cap_fen)
            worker = workers[worker_id]
            breakdown.project.append(ProjectPersonLine(
                worker_id, mask_name(worker.name), worker.id_number_tail, person["courses"],
                str(person["hours"]), gross, amount, gross > cap_fen))
            breakdown.project_fen += amount
    breakdown.total_fen = breakdown.online_fen + breakdown.project_fen
    return breakdown


def sessions_held(session: Session, programme: Programme) -> int:
    """Class sessions held in the project period: those somebody attended (a staff scan) — shown
    against the ``sessions_offered`` the programme promised."""
    rules = programme.training
    held = (sa.select(ClassSession.id)
            .join(Enrolment, Enrolment.course_id == ClassSession.course_id)
            .join(Attendance, sa.and_(Attendance.enrolment_id == Enrolment.id, Attendance.day == ClassSession.day))
            .where(ClassSession.day >= rules.project_period_start, ClassSession.day <= rules.project_period_end)
            .distinct())
    return session.scalar(sa.select(sa.func.count()).select_from(held.subquery())) or 0


def active_claim(session: Session, enterprise_id: int) -> TrainingSubsidyClaim | None:
    return session.scalar(sa.select(TrainingSubsidyClaim).where(
        TrainingSubsidyClaim.enterprise_id == enterprise_id,
        TrainingSubsidyClaim.status != SubsidyClaimStatus.REJECTED))


def enterprise_claims(session: Session, enterprise_id: int) -> list[TrainingSubsidyClaim]:
    return list(session.scalars(sa.select(TrainingSubsidyClaim).where(
        TrainingSubsidyClaim.enterprise_id == enterprise_id).order_by(TrainingSubsidyClaim.id.desc())))


def submit_subsidy_claim(session: Session, programme: Programme, enterprise: Enterprise, now: datetime,
                         actor=None) -> TrainingSubsidyClaim:
    """The enterprise admin submits the claim as computed now (the breakdown is frozen), by the
    programme's claim deadline (``claim_deadline_passed`` after it).

    Concurrency: a partial UNIQUE index allows one claim per enterprise that is not rejected;
    the insert's savepoint turns a concurrent twin into ``claim_exists``.
    """
    late = claim_deadline_problem(programme, now)
    if late is not None:
        raise late
    if active_claim(session, enterprise.id) is not None:
        raise BenefitRefused("claim_exists")
    breakdown = compute_training_subsidy(session, programme, enterprise.id)
    if breakdown.total_fen <= 0:
        raise BenefitRefused("nothing_to_claim", status=422)
    claim = TrainingSubsidyClaim(
        enterprise_id=enterprise.id, status=SubsidyClaimStatus.SUBMITTED, online_fen=breakdown.online_fen,
        project_fen=breakdown.project_fen, amount_fen=breakdown.total_fen, breakdown=breakdown.to_json(),
        submitted_at=now, submitted_by_user_id=getattr(actor, "id", None), review_reason="",
    )
    # A partial UNIQUE index: one open claim per enterprise, even when two admins submit at once.
    insert_or_refuse(session, BenefitRefused("claim_exists"), claim)
    return claim


def review_subsidy_claim(session: Session, claim_id: int, *, approve: bool, reason: str, now: datetime,
                         actor=None) -> TrainingSubsidyClaim:
    """An official approves, or rejects with a reason. Concurrency: a conditional UPDATE on
    ``status = 'submitted'`` — of two reviewers at once, the second finds nothing to update."""
    reason = (reason or "").strip()
    if not approve and not reason:
        raise BenefitRefused("reason_required", status=422, field="reason")
    if len(reason) > 2000:
        raise BenefitRefused("too_long", status=422, field="reason")
    result = session.execute(
        sa.update(TrainingSubsidyClaim)
        .where(TrainingSubsidyClaim.id == claim_id, TrainingSubsidyClaim.status == SubsidyClaimStatus.SUBMITTED)
        .values(status=SubsidyClaimStatus.APPROVED if approve else SubsidyClaimStatus.REJECTED,
                reviewed_at=now, reviewed_by_user_id=getattr(actor, "id", None), review_reason=reason)
        .execution_options(synchronize_session=False)
    )
    claim = session.get(TrainingSubsidyClaim, claim_id)
    if claim is None:
        raise BenefitRefused("not_found", status=404)
    if result.rowcount != 1:
        raise BenefitRefused("already_reviewed")
    session.refresh(claim)
    return claim
