"""Benefits room, skills training (P6, 职业技能培训): courses, enrolment, attendance at offline
classes (a staff scan at the checkpoint ``training:<code>``), completion of online courses
(uploaded by the organising enterprise), and the enterprise's training-subsidy claim.

The subsidy rules come from the programme file's ``[training]`` section:

* online training completed on or before ``online_deadline``: ``online_subsidy_rate`` (95 %) of
  the actual cost per person, rounded down to the fen ("不超过实际培训费用95%");
* project-based (offline) training inside ``project_period_start`` … ``project_period_end``:
  ``project_yuan_per_class_hour`` (25 ¥) per person per class hour attended, at most
  ``project_cap_yuan_per_person`` (2,000 ¥) per person across all of the enterprise's courses.

An attended class day earns ``class_hours / class_days`` hours (a course's hours spread evenly
over its days), never more than the course's hours.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.models import Worker
from wzcheckin.accounts.services import FormErrors, find_worker_by_id_number
from wzcheckin.benefits.errors import BenefitRefused
from wzcheckin.benefits.models import (
    Attendance,
    Course,
    CourseMode,
    Enrolment,
    SubsidyClaimStatus,
    TrainingSubsidyClaim,
)
from wzcheckin.benefits.money import FEN_PER_YUAN, fen_floor, parse_yuan
from wzcheckin.core.csv_import import ImportReport, describe_field_errors, import_rows
from wzcheckin.core.identity import InvalidIdentifier, mask_name, parse_credit_code, parse_id_number
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.db import is_unique_violation
from wzcheckin.enterprises.models import Enterprise
from wzcheckin.programme import Programme
from wzcheckin.scanning.models import Checkpoint, CheckpointKind

CODE_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{2,40}$")
COURSE_COLUMNS = ("code", "title", "mode", "provider", "class_hours", "cost_yuan", "credit_code", "district",
                  "address", "starts_on", "ends_on", "capacity")
COMPLETION_COLUMNS = ("id_number", "completed_on")
MAX_CLASS_HOURS = 1000
MAX_COST_YUAN = 100_000


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
    """Validate every field; raise FormErrors naming each bad one. ``fixed_enterprise`` is the
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
    if errors:
        raise FormErrors(errors)
    return CleanCourse(
        code=values["code"], title=values["title"], mode=values["mode"], provider=values["provider"],
        class_hours=values["class_hours"], cost_per_person_fen=values["cost_yuan"], enterprise=enterprise,
        district=values["district"], address=values["address"], starts_on=values["starts_on"],
        ends_on=values["ends_on"], capacity=values["capacity"], description=values["description"],
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


def save_course(session: Session, clean: CleanCourse, now: datetime, *, course: Course | None = None) -> Course:
    """Create a course (``course`` None) or update one; its code never changes. An offline
    course gets its attendance checkpoint ``training:<code>``."""
    if course is None:
        if find_course(session, clean.code) is not None:
            raise FormErrors({"code": "code_taken"})
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
        checkpoint = session.scalar(sa.select(Checkpoint).where(Checkpoint.ref == course.checkpoint_ref))
        if checkpoint is None:
            checkpoint = Checkpoint(ref=course.checkpoint_ref, kind=CheckpointKind.TRAINING, code=course.code,
                                    created_at=now)
            session.add(checkpoint)
        checkpoint.name = course.title[:200]
        checkpoint.district = course.district
        session.flush()
        course.checkpoint_id = checkpoint.id
    session.flush()
    return course


def import_courses(session: Session, text: str, now: datetime, progress=None) -> ImportReport:
    """``wzcheckin import courses``: all or nothing; re-importing a code updates it."""

    def parse(row: dict[str, str]) -> CleanCourse:
        try:
            return clean_course(session, CourseInput(**{column: row[column] for column in COURSE_COLUMNS}))
        except FormErrors as exc:
            raise ValueError(describe_field_errors(exc.errors)) from None

    def mode_unchanged(clean: CleanCourse) -> None:
        existing = find_course(session, clean.code)
        if existing is not None and existing.mode is not clean.mode:
            raise ValueError("mode: a course's mode cannot change once created")

    def upsert(clean: CleanCourse) -> bool:
        existing = find_course(session, clean.code)
        save_course(session, clean, now, course=existing)
        return existing is None

    return import_rows(text, COURSE_COLUMNS, parse, upsert, unique=[("code", lambda clean: clean.code)],
                       check=mode_unchanged, progress=progress)


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
    try:
        with session.begin_nested():
            session.add(enrolment)
    except sa.exc.IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        raise BenefitRefused("already_enrolled") from None
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
    try:
        with session.begin_nested():
            session.add(attendance)
    except sa.exc.IntegrityError as exc:  # the same worker scanned twice at once
        if not is_unique_violation(exc):
            raise
        return None, False
    return attendance, True


def upload_completions(session: Session, vault: PersonalDataVault, programme: Programme, course: Course,
                       text: str, now: datetime) -> ImportReport:
    """An online course's completions (``id_number,completed_on``), uploaded by the organising
    enterprise. All or nothing. An employee not yet enrolled is enrolled by the upload."""
    today = programme.local_date(now)

    def parse(row: dict[str, str]) -> tuple[Worker, date]:
        try:
            id_number = parse_id_number(row["id_number"], today=today).value
        except InvalidIdentifier as exc:
            raise ValueError(f"id_number: {exc.code}") from None
        try:
            completed_on = _parse_date(row["completed_on"])
        except ValueError as exc:
            raise ValueError(f"completed_on: {exc}") from None
        if completed_on < course.starts_on or completed_on > today:
            raise ValueError(f"completed_on: must lie between the course start ({course.starts_on}) and today ({today})")
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


# --- the training subsidy -------------------------------------------------------------------------

@dataclass
class OnlineCourseLine:
    code: str
    title: str
    cost_per_person_fen: int
    per_person_fen: int       # rate × cost, rounded down
    completed: int            # completions recorded
    counted: int              # ... on or before the deadline
    late: int                 # ... after it (not subsidised)
    amount_fen: int


@dataclass
class ProjectCourseHours:
    code: str
    days: int                 # attended class days inside the project period
    hours: str                # Decimal as text, e.g. "8" or "3.33"


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


def _hours_text(value: Decimal) -> str:
    """Hours for display: up to two decimals, trailing zeros dropped."""
    quantised = value.quantize(Decimal("0.01"))
    text = format(quantised, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def compute_training_subsidy(session: Session, programme: Programme, enterprise_id: int) -> SubsidyBreakdown:
    """The enterprise's training subsidy with its breakdown, by the programme's rules."""
    rules = programme.training
    rate = Decimal(str(rules.online_subsidy_rate))  # the TOML float 0.95 → exactly Decimal("0.95")
    per_hour_fen = Decimal(rules.project_yuan_per_class_hour * FEN_PER_YUAN)
    cap_fen = Decimal(rules.project_cap_yuan_per_person * FEN_PER_YUAN)
    breakdown = SubsidyBreakdown(rules={
        "online_subsidy_rate": str(rate), "online_deadline": rules.online_deadline.isoformat(),
        "project_yuan_per_class_hour": rules.project_yuan_per_class_hour,
        "project_cap_yuan_per_person": rules.project_cap_yuan_per_person,
        "project_period_start": rules.project_period_start.isoformat(),
        "project_period_end": rules.project_period_end.isoformat(),
    })
    courses = list(session.scalars(sa.select(Course).where(Course.enterprise_id == enterprise_id)
                                   .order_by(Course.code)))

    for course in (c for c in courses if c.mode is CourseMode.ONLINE):
        completions = list(session.scalars(
            sa.select(Enrolment.completed_on).where(Enrolment.course_id == course.id,
                                                    Enrolment.completed_on.is_not(None))))
        counted = sum(1 for day in completions if day <= rules.online_deadline)
        per_person = fen_floor(Decimal(course.cost_per_person_fen) * rate)
        line = OnlineCourseLine(course.code, course.title, course.cost_per_person_fen, per_person, len(completions),
                                counted, len(completions) - counted, per_person * counted)
        breakdown.online.append(line)
        breakdown.online_fen += line.amount_fen

    people: dict[int, dict] = {}
    for course in (c for c in courses if c.mode is CourseMode.OFFLINE):
        first = max(course.starts_on, rules.project_period_start)
        last = min(course.ends_on, rules.project_period_end)
        if last < first:
            continue
        per_day = Decimal(course.class_hours) / Decimal(course.class_days)
        rows = session.execute(
            sa.select(Enrolment.worker_id, sa.func.count(Attendance.id))
            .join(Attendance, Attendance.enrolment_id == Enrolment.id)
            .where(Enrolment.course_id == course.id, Attendance.day >= first, Attendance.day <= last)
            .group_by(Enrolment.worker_id)
        )
        for worker_id, days in rows:
            hours = min(per_day * days, Decimal(course.class_hours))
            person = people.setdefault(worker_id, {"hours": Decimal(0), "courses": []})
            person["hours"] += hours
            person["courses"].append(ProjectCourseHours(course.code, days, _hours_text(hours)))
    if people:
        workers = {w.id: w for w in session.scalars(sa.select(Worker).where(Worker.id.in_(list(people))))}
        for worker_id in sorted(people):
            person = people[worker_id]
            gross = person["hours"] * per_hour_fen
            amount = fen_floor(min(gross, cap_fen))
            worker = workers[worker_id]
            breakdown.project.append(ProjectPersonLine(
                worker_id, mask_name(worker.name), worker.id_number_tail, person["courses"],
                _hours_text(person["hours"]), fen_floor(gross), amount, gross > cap_fen))
            breakdown.project_fen += amount
    breakdown.total_fen = breakdown.online_fen + breakdown.project_fen
    return breakdown


def active_claim(session: Session, enterprise_id: int) -> TrainingSubsidyClaim | None:
    return session.scalar(sa.select(TrainingSubsidyClaim).where(
        TrainingSubsidyClaim.enterprise_id == enterprise_id,
        TrainingSubsidyClaim.status != SubsidyClaimStatus.REJECTED))


def enterprise_claims(session: Session, enterprise_id: int) -> list[TrainingSubsidyClaim]:
    return list(session.scalars(sa.select(TrainingSubsidyClaim).where(
        TrainingSubsidyClaim.enterprise_id == enterprise_id).order_by(TrainingSubsidyClaim.id.desc())))


def submit_subsidy_claim(session: Session, programme: Programme, enterprise: Enterprise, now: datetime,
                         actor=None) -> TrainingSubsidyClaim:
    """The enterprise admin submits the claim as computed now (the breakdown is frozen).

    Concurrency: a partial UNIQUE index allows one claim per enterprise that is not rejected;
    the insert's savepoint turns a concurrent twin into ``claim_exists``.
    """
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
    try:
        with session.begin_nested():
            session.add(claim)
    except sa.exc.IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        raise BenefitRefused("claim_exists") from None
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
