"""Residence room, read-only queries for the pages, the API and the reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from wzcheckin.accounts.models import User, Worker
from wzcheckin.directory.models import Checkpoint, Enterprise
from wzcheckin.programme import Programme
from wzcheckin.residence import reasons
from wzcheckin.residence.confirmation import rules_for, status_select
from wzcheckin.residence.corrections import latest_correction
from wzcheckin.residence.models import (
    ApplicationStatus,
    CorrectionHeadcount,
    DeclarationStatus,
    Departure,
    EnterpriseHeadcount,
    ProductionDeclaration,
    SmsMessage,
    Snapshot,
    SnapshotKind,
    SnapshotPhase,
    SubsidyApplication,
    WorkerStatus,
)

HEADCOUNT_CSV_HEADER = ("credit_code", "name", "ownership", "retained", "tier", "amount_yuan")


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1


def _page(session: Session, query: sa.Select, page: int, per_page: int) -> Page:
    page = max(1, page)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    items = session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(items), total or 0, page, per_page)


# --- snapshots ------------------------------------------------------------------------------

def latest_snapshot(session: Session, programme: Programme) -> Snapshot | None:
    """The snapshot reports read: the official one (as of the programme's cutoff) when complete,
    else the complete trial snapshot with the latest instant."""
    complete = sa.select(Snapshot).where(Snapshot.phase == SnapshotPhase.COMPLETE)
    official = session.scalar(complete.where(Snapshot.kind == SnapshotKind.OFFICIAL,
                                             Snapshot.as_of == programme.cutoff))
    if official is not None:
        return official
    return session.scalar(complete.where(Snapshot.kind == SnapshotKind.TRIAL)
                          .order_by(Snapshot.as_of.desc(), Snapshot.id.desc()).limit(1))


def latest_preview(session: Session) -> Snapshot | None:
    return session.scalar(sa.select(Snapshot).where(Snapshot.kind == SnapshotKind.PREVIEW,
                                                    Snapshot.phase == SnapshotPhase.COMPLETE)
                          .order_by(Snapshot.as_of.desc(), Snapshot.id.desc()).limit(1))


def snapshot_in_progress(session: Session, programme: Programme) -> Snapshot | None:
    return session.scalar(sa.select(Snapshot).where(Snapshot.kind == SnapshotKind.OFFICIAL,
                                                    Snapshot.as_of == programme.cutoff,
                                                    Snapshot.phase != SnapshotPhase.COMPLETE))


def iter_headcounts(session: Session, snapshot_id: int):
    """Every enterprise of a snapshot in credit-code order (a stable report), streamed."""
    return session.execute(
        sa.select(EnterpriseHeadcount).where(EnterpriseHeadcount.snapshot_id == snapshot_id)
        .order_by(EnterpriseHeadcount.credit_code).execution_options(yield_per=1000)
    ).scalars()


def iter_correction_headcounts(session: Session, correction_id: int):
    """A correction's enterprises in credit-code order, streamed (the same columns as a snapshot's)."""
    return session.execute(
        sa.select(CorrectionHeadcount).where(CorrectionHeadcount.correction_id == correction_id)
        .order_by(CorrectionHeadcount.credit_code).execution_options(yield_per=1000)
    ).scalars()


def latest_figures(session: Session, snapshot: Snapshot):
    """(the latest correction or None, its headcount rows or the snapshot's): what reports print —
    the latest correction of the official snapshot once there is one (SPEC §6)."""
    correction = latest_correction(session, snapshot.id) if snapshot.kind is SnapshotKind.OFFICIAL else None
    if correction is not None:
        return correction, iter_correction_headcounts(session, correction.id)
    return None, iter_headcounts(session, snapshot.id)


def headcount_page(session: Session, snapshot_id: int, *, district: str | None = None, tier: int | None = None,
                   search: str | None = None, page: int = 1, per_page: int = 50) -> Page:
    query = sa.select(EnterpriseHeadcount).where(EnterpriseHeadcount.snapshot_id == snapshot_id)
    if district:
        query = query.where(EnterpriseHeadcount.district == district)
    if tier is not None:
        query = query.where(EnterpriseHeadcount.tier == tier)
    if search:
        term = search.strip().upper()
        query = query.where(sa.or_(EnterpriseHeadcount.credit_code == term,
                                   EnterpriseHeadcount.name.contains(search.strip(), autoescape=True)))
    query = query.order_by(EnterpriseHeadcount.retained.desc(), EnterpriseHeadcount.credit_code)
    result = _page(session, query, page, per_page)
    result.items = [row[0] for row in result.items]
    return result


def snapshot_districts(session: Session, snapshot_id: int) -> list[str]:
    return list(session.scalars(sa.select(EnterpriseHeadcount.district).where(
        EnterpriseHeadcount.snapshot_id == snapshot_id).distinct().order_by(EnterpriseHeadcount.district)))


def district_totals(session: Session, snapshot_id: int) -> list:
    return session.execute(
        sa.select(EnterpriseHeadcount.district, sa.func.count(), sa.func.sum(EnterpriseHeadcount.retained),
                  sa.func.sum(sa.case((EnterpriseHeadcount.amount_yuan > 0, 1), else_=0)),
                  sa.func.sum(EnterpriseHeadcount.amount_yuan))
        .where(EnterpriseHeadcount.snapshot_id == snapshot_id)
        .group_by(EnterpriseHeadcount.district).order_by(EnterpriseHeadcount.district)
    ).all()


@dataclass
class StatusRow:
    worker_id: int
    name: str
    id_tail: str
    enterprise_name: str | None
    credit_code: str | None
    district: str | None
    on_roster: bool
    confirmed: bool
    reason: str
    windows_satisfied: int
    windows_missed: int
    permit_valid: bool
    departed_on: object


def worker_status_page(session: Session, snapshot_id: int, *, reason: str | None = None,
                       credit_code: str | None = None, district: str | None = None, page: int = 1,
                       per_page: int = 50) -> Page:
    query = (
        sa.select(WorkerStatus.worker_id, Worker.name, Worker.id_number_tail, Enterprise.name, Enterprise.credit_code,
                  Enterprise.district, WorkerStatus.on_roster, WorkerStatus.confirmed, WorkerStatus.reason,
                  WorkerStatus.windows_satisfied, WorkerStatus.windows_missed, WorkerStatus.permit_valid,
                  WorkerStatus.departed_on)
        .join(Worker, Worker.id == WorkerStatus.worker_id)
        .outerjoin(Enterprise, Enterprise.id == WorkerStatus.enterprise_id)
        .where(WorkerStatus.snapshot_id == snapshot_id)
    )
    if reason:
        query = query.where(WorkerStatus.reason == reason)
    if credit_code:
        query = query.where(Enterprise.credit_code == credit_code.strip().upper())
    if district:
        query = query.where(Enterprise.district == district)
    result = _page(session, query.order_by(WorkerStatus.worker_id), page, per_page)
    result.items = [StatusRow(*row) for row in result.items]
    return result


def worker_status(session: Session, snapshot_id: int, worker_id: int) -> WorkerStatus | None:
    return session.get(WorkerStatus, (snapshot_id, worker_id))


# --- the live preview (before the cutoff) ------------------------------------------------------

@dataclass
class PreviewRow:
    worker_id: int
    name: str
    id_tail: str
    on_roster: bool
    on_track: bool
    reason: str
    windows_satisfied: int
    windows_missed: int
    departed_on: object
    needs_scan_now: bool = False   # on track, but the open window has no evidence yet


@dataclass
class EnterprisePreview:
    as_of: datetime
    roster: int = 0
    on_track: int = 0
    needs_scan_now: int = 0
    tier: int = 0
    amount_yuan: int = 0
    unconfirmed_employment: int = 0
    by_reason: dict = field(default_factory=dict)
    rows: list[PreviewRow] = field(default_factory=list)
    open_window_index: int | None = None


def enterprise_preview(session: Session, programme: Programme, enterprise: Enterprise,
                       now: datetime) -> EnterprisePreview:
    """What the cutoff would decide for this enterprise's workers if it ran now, with windows
    still open not counted against anyone: its projected headcount and tier (P7)."""
    as_of = min(now, programme.cutoff)
    rules = rules_for(programme, as_of, SnapshotKind.PREVIEW, known_at=now)
    statuses = status_select(programme, rules, enterprise_id=enterprise.id).subquery("st")
    rows = session.execute(
        sa.select(statuses, Worker.name, Worker.id_number_tail)
        .join(Worker, Worker.id == statuses.c.worker_id)
        .order_by(Worker.name, Worker.id)
    ).all()
    open_window = programme.window_at(as_of)
    open_index = programme.evidence_windows.index(open_window) if open_window is not None else None
    preview = EnterprisePreview(as_of=as_of, open_window_index=open_index)
    for row in rows:
        m = row._mapping
        needs_now = bool(m["confirmed"]) and open_index is not None and not m["windows_satisfied"] & (1 << open_index)
        item = PreviewRow(m["worker_id"], m["name"], m["id_number_tail"], bool(m["on_roster"]), bool(m["confirmed"]),
                          m["reason"], m["windows_satisfied"], m["windows_missed"], m["departed_on"], needs_now)
        preview.rows.append(item)
        if not item.on_roster:
            preview.unconfirmed_employment += 1
            continue
        preview.roster += 1
        preview.by_reason[item.reason] = preview.by_reason.get(item.reason, 0) + 1
        if item.on_track:
            preview.on_track += 1
            preview.needs_scan_now += needs_now
    ownership = getattr(enterprise.ownership, "value", enterprise.ownership)
    preview.tier, preview.amount_yuan = programme.subsidy_for(ownership, preview.on_track)
    return preview


# --- applications, declarations, outbox, job runs ----------------------------------------------

def application_page(session: Session, snapshot_id: int, *, status: str | None = None, page: int = 1,
                     per_page: int = 50) -> Page:
    query = sa.select(SubsidyApplication).where(SubsidyApplication.snapshot_id == snapshot_id)
    if status:
        query = query.where(SubsidyApplication.status == ApplicationStatus(status))
    result = _page(session, query.order_by(SubsidyApplication.applied_at, SubsidyApplication.id), page, per_page)
    result.items = [row[0] for row in result.items]
    return result


def declaration_page(session: Session, year: int, *, status: str | None = None, page: int = 1,
                     per_page: int = 50) -> Page:
    query = sa.select(ProductionDeclaration).where(ProductionDeclaration.programme_year == year)
    if status:
        query = query.where(ProductionDeclaration.status == DeclarationStatus(status))
    result = _page(session, query.order_by(ProductionDeclaration.declared_at, ProductionDeclaration.id), page, per_page)
    result.items = [row[0] for row in result.items]
    return result


def outbox_page(session: Session, *, kind: str | None = None, status: str | None = None, page: int = 1,
                per_page: int = 50) -> Page:
    query = sa.select(SmsMessage)
    if kind:
        query = query.where(SmsMessage.kind == kind)
    if status:
        query = query.where(SmsMessage.status == status)
    result = _page(session, query.order_by(SmsMessage.id.desc()), page, per_page)
    result.items = [row[0] for row in result.items]
    return result


REASON_CHOICES = reasons.ALL_REASONS


# --- withdrawn departures ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Withdrawal:
    """A withdrawn departure as the worker and officials see it: who recorded it, who withdrew
    it (role, and the enterprise of an admin) and when."""

    departure_id: int
    worker_id: int
    worker_name: str
    worker_id_tail: str
    worker_enterprise: str | None
    departed_on: date
    recorded_at: datetime
    recorded_by: str                    # a role: "worker" or "enterprise_admin"
    withdrawn_at: datetime
    withdrawn_by: str                   # a role
    withdrawn_by_enterprise: str | None  # the enterprise of the admin who withdrew it

    @property
    def by_someone_else(self) -> bool:
        """Withdrawn by someone other than the kind of person who recorded it (an employer
        withdrawing a worker's own record, or a worker their employer's)."""
        return self.withdrawn_by != self.recorded_by


_withdrawer = aliased(User)


def _withdrawals_select() -> sa.Select:
    withdrawer = _withdrawer
    withdrawer_gate = aliased(Checkpoint)
    withdrawer_enterprise = aliased(Enterprise)
    employer = aliased(Enterprise)
    return (sa.select(Departure.id, Worker.id, Worker.name, Worker.id_number_tail, employer.name,
                      Departure.departed_on, Departure.recorded_at, Departure.recorded_by_role,
                      Departure.withdrawn_at, withdrawer.role, withdrawer_enterprise.name)
            .join(Worker, Worker.id == Departure.worker_id)
            .outerjoin(employer, employer.id == Worker.enterprise_id)
            .join(withdrawer, withdrawer.id == Departure.withdrawn_by_user_id)
            .outerjoin(withdrawer_gate, withdrawer_gate.id == withdrawer.checkpoint_id)
            .outerjoin(withdrawer_enterprise, withdrawer_enterprise.id == withdrawer_gate.enterprise_id)
            .where(Departure.withdrawn_at.is_not(None))
            .order_by(Departure.withdrawn_at.desc(), Departure.id.desc()))


def _withdrawal(row) -> Withdrawal:
    return Withdrawal(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], str(row[9]), row[10])


def withdrawn_departures(session: Session, worker_id: int) -> list[Withdrawal]:
    """The worker's withdrawn departures, newest first: shown to the worker."""
    return [_withdrawal(row) for row in session.execute(_withdrawals_select().where(Departure.worker_id == worker_id))]


WITHDRAWN_BY_FILTERS = ("worker", "enterprise_admin", "someone_else")


def withdrawal_page(session: Session, *, withdrawn_by: str | None = None, page: int = 1,
                    per_page: int = 50) -> Page:
    """Every withdrawn departure, newest first, for officials; ``withdrawn_by`` a role, or
    ``someone_else`` (withdrawn by another kind of person than the one who recorded it)."""
    query = _withdrawals_select()
    if withdrawn_by == "someone_else":
        query = query.where(sa.cast(_withdrawer.role, sa.String) != Departure.recorded_by_role)
    elif withdrawn_by in ("worker", "enterprise_admin"):
        query = query.where(_withdrawer.role == withdrawn_by)
    result = _page(session, query, page, per_page)
    result.items = [_withdrawal(row) for row in result.items]
    return result
