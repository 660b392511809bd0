"""Benefits room, the training subsidy (P6) — ``[training]`` of the programme file:

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

from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.models import Worker
from wzcheckin.benefits.attendance import claim_deadline_problem
from wzcheckin.benefits.errors import BenefitRefused
from wzcheckin.benefits.invoices import approved_cost_fen, latest_invoice
from wzcheckin.benefits.models import (
    Attendance,
    ClassSession,
    Course,
    CourseMode,
    Enrolment,
    SubsidyClaimStatus,
    TrainingSubsidyClaim,
)
from wzcheckin.benefits.money import FEN_PER_YUAN, fen_floor
from wzcheckin.core.identity import mask_name
from wzcheckin.core.refusals import insert_or_refuse
from wzcheckin.directory.models import Enterprise
from wzcheckin.programme import Programme


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
