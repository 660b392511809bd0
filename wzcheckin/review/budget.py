"""Review room: the budget (预算) — committed, approved and paid per policy (P6, P7, P8) and
district — and the payment file of approved applications not yet paid.

* **committed**: what the city owes if everything pending is approved — P6 claims submitted or
  approved; P7 every qualifying enterprise's amount in the official snapshot (applied for or
  not), less rejected applications; P8 eligible declarations not rejected;
* **approved**: approved (P7: approved or paid);
* **paid**: P7 by its own paid status, P6 and P8 by the review room's payment rows.

Amounts are summed in fen (P6 has fen; P7 and P8 are whole yuan). The district is the one the
snapshot recorded for P7, the enterprise's for P6 and P8.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.benefits.models import SubsidyClaimStatus, TrainingSubsidyClaim
from wzcheckin.directory.models import Enterprise
from wzcheckin.programme import Programme
from wzcheckin.residence.models import (
    ApplicationStatus,
    DeclarationStatus,
    EnterpriseHeadcount,
    ProductionDeclaration,
    SubsidyApplication,
)
from wzcheckin.residence.production import programme_year
from wzcheckin.residence.subsidies import official_snapshot
from wzcheckin.review.models import Payment, Policy

BUDGET_CSV_HEADER = ("policy", "district", "committed_yuan", "approved_yuan", "paid_yuan")
PAYMENT_CSV_HEADER = ("policy", "application_id", "credit_code", "enterprise", "district", "amount_yuan",
                      "approved_at", "admin_phone")


def yuan(fen: int) -> int | float:
    """Fen as yuan: a whole number when it is one, else with its two decimals."""
    return fen // 100 if fen % 100 == 0 else round(fen / 100, 2)


def yuan_text(fen: int) -> str:
    return f"{fen // 100}" if fen % 100 == 0 else f"{fen // 100}.{fen % 100:02d}"


@dataclass
class BudgetRow:
    policy: str
    district: str
    committed_fen: int = 0
    approved_fen: int = 0
    paid_fen: int = 0

    def record(self) -> dict:
        return {"policy": self.policy, "district": self.district, "committed_yuan": yuan(self.committed_fen),
                "approved_yuan": yuan(self.approved_fen), "paid_yuan": yuan(self.paid_fen)}


def _paid_exists(policy: Policy, id_column):
    return sa.exists().where(Payment.policy == policy.value, Payment.application_id == id_column)


def budget_rows(session: Session, programme: Programme) -> list[BudgetRow]:
    """One row per policy and district that has any money, ordered by policy then district."""
    rows: dict[tuple[str, str], BudgetRow] = {}

    def add(policy: Policy, district: str, field: str, fen) -> None:
        key = (policy.value, district or "")
        row = rows.setdefault(key, BudgetRow(*key))
        setattr(row, field, getattr(row, field) + int(fen or 0))

    # P6: training claims.
    claim = TrainingSubsidyClaim
    p6 = (sa.select(Enterprise.district,
                    sa.func.sum(claim.amount_fen),
                    sa.func.sum(sa.case((claim.status == SubsidyClaimStatus.APPROVED, claim.amount_fen), else_=0)),
                    sa.func.sum(sa.case((sa.and_(claim.status == SubsidyClaimStatus.APPROVED,
                                                 _paid_exists(Policy.P6, claim.id)), claim.amount_fen), else_=0)))
          .join(Enterprise, Enterprise.id == claim.enterprise_id)
          .where(claim.status != SubsidyClaimStatus.REJECTED)
          .group_by(Enterprise.district))
    for district, committed, approved, paid in session.execute(p6):
        add(Policy.P6, district, "committed_fen", committed)
        add(Policy.P6, district, "approved_fen", approved)
        add(Policy.P6, district, "paid_fen", paid)

    # P7: the official snapshot's amounts, less rejected applications; then the applications.
    snapshot = official_snapshot(session, programme)
    if snapshot is not None:
        application = SubsidyApplication
        rejected = sa.exists().where(application.snapshot_id == snapshot.id,
                                     application.enterprise_id == EnterpriseHeadcount.enterprise_id,
                                     application.status == ApplicationStatus.REJECTED)
        committed = (sa.select(EnterpriseHeadcount.district, sa.func.sum(EnterpriseHeadcount.amount_yuan))
                     .where(EnterpriseHeadcount.snapshot_id == snapshot.id, EnterpriseHeadcount.amount_yuan > 0,
                            sa.not_(rejected))
                     .group_by(EnterpriseHeadcount.district))
        for district, amount in session.execute(committed):
            add(Policy.P7, district, "committed_fen", int(amount or 0) * 100)
        approved_statuses = (ApplicationStatus.APPROVED, ApplicationStatus.PAID)
        district = sa.func.coalesce(EnterpriseHeadcount.district, Enterprise.district)
        decided = (sa.select(district,
                             sa.func.sum(sa.case((application.status.in_(approved_statuses), application.amount_yuan),
                                                 else_=0)),
                             sa.func.sum(sa.case((application.status == ApplicationStatus.PAID, application.amount_yuan),
                                                 else_=0)))
                   .join(Enterprise, Enterprise.id == application.enterprise_id)
                   .outerjoin(EnterpriseHeadcount, sa.and_(EnterpriseHeadcount.snapshot_id == application.snapshot_id,
                                                           EnterpriseHeadcount.enterprise_id == application.enterprise_id))
                   .where(application.snapshot_id == snapshot.id)
                   .group_by(district))
        for district_name, approved, paid in session.execute(decided):
            add(Policy.P7, district_name, "approved_fen", int(approved or 0) * 100)
            add(Policy.P7, district_name, "paid_fen", int(paid or 0) * 100)

    # P8: eligible declarations of the programme year.
    declaration = ProductionDeclaration
    approved_case = sa.case((declaration.status == DeclarationStatus.APPROVED, declaration.amount_yuan), else_=0)
    paid_case = sa.case((sa.and_(declaration.status == DeclarationStatus.APPROVED,
                                 _paid_exists(Policy.P8, declaration.id)), declaration.amount_yuan), else_=0)
    p8 = (sa.select(Enterprise.district, sa.func.sum(declaration.amount_yuan), sa.func.sum(approved_case),
                    sa.func.sum(paid_case))
          .join(Enterprise, Enterprise.id == declaration.enterprise_id)
          .where(declaration.programme_year == programme_year(programme), declaration.eligible == sa.true(),
                 declaration.status != DeclarationStatus.REJECTED)
          .group_by(Enterprise.district))
    for district, committed, approved, paid in session.execute(p8):
        add(Policy.P8, district, "committed_fen", int(committed or 0) * 100)
        add(Policy.P8, district, "approved_fen", int(approved or 0) * 100)
        add(Policy.P8, district, "paid_fen", int(paid or 0) * 100)

    return [rows[key] for key in sorted(rows)]


def totals(rows: list[BudgetRow], by: str) -> list[BudgetRow]:
    """Rows summed by ``"policy"`` or ``"district"``."""
    summed: dict[str, BudgetRow] = {}
    for row in rows:
        key = getattr(row, by)
        total = summed.setdefault(key, BudgetRow(row.policy if by == "policy" else "",
                                                 row.district if by == "district" else ""))
        total.committed_fen += row.committed_fen
        total.approved_fen += row.approved_fen
        total.paid_fen += row.paid_fen
    return [summed[key] for key in sorted(summed)]


@dataclass(frozen=True)
class PaymentLine:
    policy: str
    application_id: int
    credit_code: str
    enterprise: str
    district: str
    amount_fen: int
    approved_at: str
    admin_phone: str   # masked, never in full

    def csv_row(self) -> list:
        return [self.policy, self.application_id, self.credit_code, self.enterprise, self.district,
                yuan_text(self.amount_fen), self.approved_at, self.admin_phone]


def payment_lines(session: Session, programme: Programme) -> list[PaymentLine]:
    """Approved applications not yet paid, for the finance office's payment file."""
    lines: list[PaymentLine] = []

    def line(policy: Policy, row, amount_fen: int, approved_at) -> PaymentLine:
        enterprise = row.enterprise
        return PaymentLine(policy.value, row.id, enterprise.credit_code, enterprise.name, enterprise.district,
                           amount_fen,
                           # Wenzhou time (+08:00), like every export
                           approved_at.astimezone(programme.tz).isoformat(timespec="seconds") if approved_at else "",
                           enterprise.admin_phone_masked or "")

    claim = TrainingSubsidyClaim
    for row in session.scalars(sa.select(claim).where(claim.status == SubsidyClaimStatus.APPROVED,
                                                      sa.not_(_paid_exists(Policy.P6, claim.id))).order_by(claim.id)):
        lines.append(line(Policy.P6, row, int(row.amount_fen), row.reviewed_at))
    application = SubsidyApplication
    for row in session.scalars(sa.select(application).where(application.status == ApplicationStatus.APPROVED)
                               .order_by(application.id)):
        lines.append(line(Policy.P7, row, int(row.amount_yuan) * 100, row.decided_at))
    declaration = ProductionDeclaration
    for row in session.scalars(sa.select(declaration).where(
            declaration.status == DeclarationStatus.APPROVED, declaration.programme_year == programme_year(programme),
            sa.not_(_paid_exists(Policy.P8, declaration.id))).order_by(declaration.id)):
        lines.append(line(Policy.P8, row, int(row.amount_yuan) * 100, row.decided_at))
    return lines

