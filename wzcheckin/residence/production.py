"""Residence room: P8 生产奖励, the production reward.

The rule (programme ``[production_reward]``): an industrial enterprise, neither state-owned nor
state-controlled, whose output in the previous year was **over** the threshold (5000万元), and
whose average daily output in Q1 of the programme year is **not below** its average daily output
in Q3+Q4 of the previous year:

    Q1 total / days in Q1  ≥  (Q3 + Q4 total) / days in Q3 and Q4

Days are counted from the calendar (Q1 2021 has 90, Q3+Q4 2020 has 184), and the comparison is
made by cross-multiplying Decimals, so no rounding decides a borderline case.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.models import User
from wzcheckin.core.audit import record_audit
from wzcheckin.db import is_unique_violation
from wzcheckin.directory.models import Enterprise
from wzcheckin.programme import Programme
from wzcheckin.residence.decisions import clean_reason, record_decision
from wzcheckin.residence.errors import ResidenceError
from wzcheckin.residence.models import DeclarationStatus, ProductionDeclaration

MAX_YUAN = Decimal("9999999999999999.99")  # Numeric(18, 2)
QUARTER_MONTHS = {1: (1, 2, 3), 2: (4, 5, 6), 3: (7, 8, 9), 4: (10, 11, 12)}


def days_in_quarter(year: int, quarter: int) -> int:
    return sum(calendar.monthrange(year, month)[1] for month in QUARTER_MONTHS[quarter])


def programme_year(programme: Programme) -> int:
    """The year whose Q1 is judged: the year of the cutoff (2021 for the 2021 programme)."""
    return programme.local_date(programme.cutoff).year


def declarations_open_on(programme: Programme) -> date:
    """Q1 output is known once Q1 is over."""
    return date(programme_year(programme), 4, 1)


@dataclass(frozen=True)
class OutputFigures:
    previous_year: Decimal
    q3: Decimal      # Q3 of the previous year
    q4: Decimal      # Q4 of the previous year
    q1: Decimal      # Q1 of the programme year


@dataclass(frozen=True)
class Judgement:
    eligible: bool
    reason: str              # "eligible", "excluded_ownership", "not_industrial", "output_too_low", "q1_below_h2"
    amount_yuan: int
    q1_daily: Decimal
    h2_daily: Decimal
    days_q1: int
    days_h2: int


JUDGEMENT_CODES = ("eligible", "excluded_ownership", "not_industrial", "output_too_low", "q1_below_h2")


def enterprise_exclusion(programme: Programme, enterprise: Enterprise) -> str | None:
    rule = programme.production_reward
    if getattr(enterprise.ownership, "value", enterprise.ownership) in rule.excluded_ownership:
        return "excluded_ownership"
    if rule.industrial_only and not enterprise.industrial:
        return "not_industrial"
    return None


def judge(programme: Programme, enterprise: Enterprise, figures: OutputFigures) -> Judgement:
    rule = programme.production_reward
    year = programme_year(programme)
    days_q1 = days_in_quarter(year, 1)
    days_h2 = days_in_quarter(year - 1, 3) + days_in_quarter(year - 1, 4)
    h2_total = figures.q3 + figures.q4
    q1_daily = (figures.q1 / days_q1).quantize(Decimal("0.01"))
    h2_daily = (h2_total / days_h2).quantize(Decimal("0.01"))
    reason = enterprise_exclusion(programme, enterprise)
    if reason is None and not figures.previous_year > rule.min_output_previous_year_yuan:
        reason = "output_too_low"
    # q1 / days_q1 >= h2 / days_h2  <=>  q1 * days_h2 >= h2 * days_q1 (days are positive)
    if reason is None and not figures.q1 * days_h2 >= h2_total * days_q1:
        reason = "q1_below_h2"
    eligible = reason is None
    return Judgement(eligible, reason or "eligible", rule.amount_yuan if eligible else 0, q1_daily, h2_daily,
                     days_q1, days_h2)


def parse_yuan(raw, field: str) -> Decimal:
    try:
        value = Decimal(str(raw).replace(",", "").replace("，", "").strip())
    except (InvalidOperation, ValueError):
        raise ResidenceError("invalid_amount", field=field) from None
    if not value.is_finite() or value < 0 or value > MAX_YUAN or value != value.quantize(Decimal("0.01")):
        raise ResidenceError("invalid_amount", field=field)
    return value.quantize(Decimal("0.01"))


def declaration_of(session: Session, programme: Programme, enterprise_id: int) -> ProductionDeclaration | None:
    return session.scalar(sa.select(ProductionDeclaration).where(
        ProductionDeclaration.enterprise_id == enterprise_id,
        ProductionDeclaration.programme_year == programme_year(programme)))


def declare_production(session: Session, programme: Programme, *, enterprise: Enterprise, figures: OutputFigures,
                       actor: User, now: datetime, ip: str | None = None) -> ProductionDeclaration:
    """Declare (or correct, until an official decides) the enterprise's output figures.

    Concurrency: UNIQUE (enterprise, year) for the first declaration; corrections update only a
    declaration still in status ``declared`` (a conditional UPDATE).
    """
    opens = declarations_open_on(programme)
    if programme.local_date(now) < opens:
        raise ResidenceError("not_open_yet", date=opens.isoformat())
    exclusion = enterprise_exclusion(programme, enterprise)
    if exclusion is not None:
        raise ResidenceError(exclusion)
    verdict = judge(programme, enterprise, figures)
    values = {
        "output_previous_year_yuan": figures.previous_year, "output_q3_yuan": figures.q3,
        "output_q4_yuan": figures.q4, "output_q1_yuan": figures.q1, "eligible": verdict.eligible,
        "reason": verdict.reason, "amount_yuan": verdict.amount_yuan, "declared_at": now,
        "declared_by_user_id": actor.id,
    }
    existing = declaration_of(session, programme, enterprise.id)
    declaration = None
    if existing is None:
        candidate = ProductionDeclaration(enterprise_id=enterprise.id, programme_year=programme_year(programme),
                                          status=DeclarationStatus.DECLARED, **values)
        try:
            with session.begin_nested():
                session.add(candidate)
            declaration = candidate
        except sa.exc.IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            existing = declaration_of(session, programme, enterprise.id)  # a concurrent first declaration
    if declaration is None:
        changed = session.execute(
            sa.update(ProductionDeclaration)
            .where(ProductionDeclaration.id == existing.id, ProductionDeclaration.status == DeclarationStatus.DECLARED)
            .values(**values).execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            raise ResidenceError("already_decided")
        session.refresh(existing)
        declaration = existing
    record_audit(session, at=now, actor=actor, action="residence.production.declare",
                 target_type="production_declaration", target_id=declaration.id,
                 details={"enterprise": enterprise.credit_code, "eligible": verdict.eligible,
                          "reason": verdict.reason}, ip=ip)
    return declaration


def decide_declaration(session: Session, programme: Programme, *, declaration: ProductionDeclaration, approve: bool,
                       reason: str | None, actor: User, now: datetime, ip: str | None = None) -> ProductionDeclaration:
    """An official approves (only what the rule allows) or rejects with a reason
    (``decisions.record_decision``: a conditional UPDATE, audited)."""
    reason = clean_reason(reason, required=not approve)
    if approve:
        # Judged again from the stored figures: the rule, not the stored flag, decides.
        figures = OutputFigures(declaration.output_previous_year_yuan, declaration.output_q3_yuan,
                                declaration.output_q4_yuan, declaration.output_q1_yuan)
        if not judge(programme, declaration.enterprise, figures).eligible:
            raise ResidenceError("not_eligible")
    status = DeclarationStatus.APPROVED if approve else DeclarationStatus.REJECTED
    record_decision(session, declaration, status, pending=DeclarationStatus.DECLARED, reason=reason, actor=actor,
                    now=now, audit_action=f"residence.production.{status.value}", target_type="production_declaration",
                    ip=ip)
    return declaration
