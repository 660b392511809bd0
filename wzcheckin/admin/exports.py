"""Admin room, exports: the datasets officials download — the table behind every chart and the
key lists (enterprise headcounts and worker statuses from the snapshot, welfare hand-outs,
data-bonus claims, registrations by enterprise).

Lists that name people are masked by default (name ``张*``, ID ``**************123X``, phone
``138****1234``); a dataset's ``reveals`` are the columns an unmasked export shows in full. The
views audit every export, masked or not, with the number of rows, which is why a dataset is
first *planned*: the plan counts its rows in SQL and fixes the bounds (the last hand-out id, the
snapshot) so the file holds exactly the rows counted, however many arrive while it streams.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from wzcheckin.accounts.models import User, Worker
from wzcheckin.admin import stats
from wzcheckin.admin.audit_log import scrub
from wzcheckin.admin.errors import AdminRefusal
from wzcheckin.benefits.models import DataBonusClaim
from wzcheckin.core.audit import record_audit
from wzcheckin.core.identity import mask_id_tail, mask_name
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.directory.models import Enterprise
from wzcheckin.programme import Programme
from wzcheckin.residence import reasons
from wzcheckin.residence.models import EnterpriseHeadcount, WorkerStatus
from wzcheckin.welfare.models import PackHandout, PickupPoint

YIELD_PER = 2000
# An XLSX is written whole before it is sent (openpyxl: ~7,000 rows a second here); beyond this a
# web request would outlive the server's worker timeout, so bigger lists are CSV (streamed) or
# ``wzcheckin export … --format xlsx --output FILE``.
WEB_XLSX_MAX_ROWS = 200_000
REASON_MIN_CHARS = 6
REASON_MAX_CHARS = 500


class ExportUnavailable(AdminRefusal):
    """The dataset cannot be exported now (``no_snapshot``: the cutoff has not been run)."""

    status = 409


class ReasonRefused(AdminRefusal):
    """The reason given for an unmasked export is not enough (``reason_required``, ``reason_too_short``,
    ``reason_too_long``: ``n`` the limit), on the ``reason`` field."""

    def __init__(self, code: str, n: int | None = None):
        super().__init__(code, "reason", n=n)


def clean_reason(text: str | None) -> str:
    """The reason an official gives for seeing full ID and phone numbers: required, a sentence
    rather than a word, and stored in the audit log with any ID or phone number in it masked."""
    reason = " ".join((text or "").split())
    if not reason:
        raise ReasonRefused("reason_required")
    if len(reason) < REASON_MIN_CHARS:
        raise ReasonRefused("reason_too_short", REASON_MIN_CHARS)
    if len(reason) > REASON_MAX_CHARS:
        raise ReasonRefused("reason_too_long", REASON_MAX_CHARS)
    return scrub(reason)


@dataclass(frozen=True)
class ExportContext:
    session: Session
    programme: Programme
    vault: PersonalDataVault
    now: datetime
    day_range: stats.DayRange
    choice: stats.SnapshotChoice
    english: bool = False  # words in the file (reasons, periods) in the requester's language


@dataclass
class Plan:
    count: int
    rows: Callable[[], Iterator[Sequence]]
    details: dict = field(default_factory=dict)
    stem: str = ""  # what the file name says about the contents (the range, the snapshot)


@dataclass(frozen=True)
class Dataset:
    name: str
    title: object       # lazy string
    description: object  # lazy string
    header: tuple[str, ...]
    plan: Callable[[ExportContext, bool], Plan]
    reveals: tuple[str, ...] = ()
    chart: bool = False
    needs_snapshot: bool = False
    labels: dict = field(default_factory=dict)  # this list's own words for a column (``name``: whose)

    @property
    def personal(self) -> bool:
        return bool(self.reveals)

    def column_label(self, column: str) -> str:
        return str(self.labels.get(column) or COLUMN_LABELS.get(column) or column)

    def revealed_labels(self) -> list[str]:
        return [self.column_label(column) for column in self.reveals]

    def columns(self) -> list[tuple[str, str]]:
        """The header legend: each column's name in the file (snake_case, stable for scripts — see
        docs/admin.md) with what it means in the reader's language."""
        return [(column, self.column_label(column)) for column in self.header]


# What each file column holds, in words. The headers themselves stay the snake_case names (a
# contract for scripts); pages show these words beside them.
COLUMN_LABELS = {
    "date": _l("Date"), "self": _l("Registered themselves"), "roster": _l("On an enterprise roster"),
    "total": _l("Total"), "gate": _l("Factory gates"), "venue": _l("Venues"), "pickup": _l("Pickup points"),
    "training": _l("Training"), "district": _l("District"), "pledged": _l("Pledged to stay"),
    "confirmed": _l("Confirmed retained"), "tier_min_retained": _l("Tier (minimum retained workers)"),
    "enterprises": _l("Enterprises"), "retained": _l("Retained workers"), "amount_yuan": _l("Amount (yuan)"),
    "pickup_code": _l("Pickup point code"), "name": _l("Name"), "handed_out": _l("Packs handed out"),
    "stock_left": _l("Packs left"), "delivered": _l("Packs delivered"), "carrier": _l("Carrier"),
    "pending": _l("Pending"), "fulfilled": _l("Fulfilled"), "failed": _l("Failed"),
    "credit_code": _l("Unified social credit code"), "ownership": _l("Ownership"), "industrial": _l("Industrial"),
    "tier": _l("Subsidy tier"), "admin_phone": _l("Admin's phone"), "worker_id": _l("Worker number"),
    "id_number": _l("ID number"), "phone": _l("Phone"), "enterprise": _l("Enterprise"),
    "on_roster": _l("On the roster"), "reason": _l("Reason code"), "reason_text": _l("Reason"),
    "periods_with_scan": _l("Periods with a scan"), "periods_missed": _l("Periods without a scan"),
    "permit_valid": _l("Residence permit valid"), "departed_on": _l("Left Wenzhou on"),
    "handout_id": _l("Hand-out number"), "handed_out_at": _l("Handed out at"), "confirmed_at": _l("Confirmed at"),
    "pickup_point": _l("Pickup point"), "claim_id": _l("Claim number"), "claimed_at": _l("Claimed at"),
    "carrier_derived": _l("Carrier from the number"), "gigabytes": _l("Gigabytes"), "status": _l("Status"),
    "resolved_at": _l("Resolved at"), "registered": _l("Workers registered"),
    "self_registered": _l("Registered themselves"), "employment_confirmed": _l("Employment confirmed"),
}


def local_text(programme: Programme, instant: datetime | None) -> str:
    return instant.astimezone(programme.tz).isoformat(timespec="seconds") if instant else ""


def _range_details(ctx: ExportContext) -> dict:
    return {"from": ctx.day_range.first.isoformat(), "to": ctx.day_range.last.isoformat()}


def _range_stem(ctx: ExportContext) -> str:
    return f"{ctx.day_range.first:%Y%m%d}-{ctx.day_range.last:%Y%m%d}"


def _snapshot(ctx: ExportContext):
    if ctx.choice.snapshot is None:
        raise ExportUnavailable("no_snapshot")
    return ctx.choice.snapshot


def _snapshot_details(ctx: ExportContext) -> dict:
    snapshot = ctx.choice.snapshot
    if snapshot is None:
        return {"snapshot": None}
    return {"snapshot": snapshot.id, "snapshot_kind": ctx.choice.stage,
            "snapshot_as_of": snapshot.as_of.isoformat()}


def _snapshot_stem(ctx: ExportContext) -> str:
    snapshot = ctx.choice.snapshot
    if snapshot is None:
        return "live"
    return f"{ctx.choice.stage}-{ctx.programme.local_date(snapshot.as_of):%Y%m%d}"


def _materialised(rows: list) -> Callable[[], Iterator[Sequence]]:
    return lambda: iter(rows)


# --- the tables behind the charts (no personal data) ------------------------------------------------

def _plan_registrations(ctx: ExportContext, _reveal: bool) -> Plan:
    table = stats.registrations_by_day(ctx.session, ctx.programme, ctx.day_range)
    rows = list(table.rows())
    return Plan(len(rows), _materialised(rows), _range_details(ctx), _range_stem(ctx))


def _plan_scans(ctx: ExportContext, _reveal: bool) -> Plan:
    table = stats.scans_by_day(ctx.session, ctx.programme, ctx.day_range)
    rows = list(table.rows())
    return Plan(len(rows), _materialised(rows), _range_details(ctx), _range_stem(ctx))


def _plan_districts(ctx: ExportContext, _reveal: bool) -> Plan:
    table = stats.district_confirmation(ctx.session, ctx.choice)
    rows = [(row.district, row.pledged, row.confirmed) for row in table.rows]
    return Plan(len(rows), _materialised(rows), _snapshot_details(ctx), _snapshot_stem(ctx))


def _plan_tiers(ctx: ExportContext, _reveal: bool) -> Plan:
    _snapshot(ctx)
    table = stats.subsidies_by_tier(ctx.session, ctx.programme, ctx.choice)
    rows = [(row.tier, row.enterprises, row.retained, row.amount_yuan) for row in table.rows]
    return Plan(len(rows), _materialised(rows), _snapshot_details(ctx), _snapshot_stem(ctx))


def _plan_welfare(ctx: ExportContext, _reveal: bool) -> Plan:
    table = stats.welfare_by_point(ctx.session)
    rows = [(row.code, row.name, row.district, row.handed_out, row.stock, row.delivered) for row in table.rows]
    return Plan(len(rows), _materialised(rows))


def _plan_data_bonus(ctx: ExportContext, _reveal: bool) -> Plan:
    rows = [(row.carrier, *(row.counts[s] for s in stats.CLAIM_STATUSES), row.total)
            for row in stats.data_bonus_by_carrier(ctx.session, ctx.programme)]
    return Plan(len(rows), _materialised(rows))


# --- the lists ------------------------------------------------------------------------------------------

def _person(vault: PersonalDataVault, reveal: bool, name: str, id_tail: str, id_encrypted: str | None,
            phone_masked: str, phone_encrypted: str | None) -> tuple[str, str, str]:
    if reveal:
        return (name, vault.decrypt(id_encrypted) if id_encrypted else "",
                vault.decrypt(phone_encrypted) if phone_encrypted else "")
    return mask_name(name), mask_id_tail(id_tail), phone_masked


def _plan_headcounts(ctx: ExportContext, reveal: bool) -> Plan:
    snapshot = _snapshot(ctx)
    session, vault = ctx.session, ctx.vault
    where = EnterpriseHeadcount.snapshot_id == snapshot.id
    count = session.scalar(sa.select(sa.func.count()).select_from(EnterpriseHeadcount).where(where)) or 0
    phone = Enterprise.admin_phone_encrypted if reveal else Enterprise.admin_phone_masked

    def rows():
        query = (sa.select(EnterpriseHeadcount.credit_code, EnterpriseHeadcount.name, EnterpriseHeadcount.district,
                           EnterpriseHeadcount.ownership, EnterpriseHeadcount.industrial, EnterpriseHeadcount.roster,
                           EnterpriseHeadcount.retained, EnterpriseHeadcount.tier, EnterpriseHeadcount.amount_yuan,
                           phone)
                 .join(Enterprise, Enterprise.id == EnterpriseHeadcount.enterprise_id)
                 .where(where).order_by(EnterpriseHeadcount.credit_code))
        for row in session.execute(query.execution_options(yield_per=YIELD_PER)):
            *figures, admin_phone = row
            if reveal:
                admin_phone = vault.decrypt(admin_phone) if admin_phone else ""
            yield (*figures, admin_phone or "")

    return Plan(count, rows, _snapshot_details(ctx), _snapshot_stem(ctx))


def window_names_by_mask(programme: Programme, english: bool = False) -> dict[int, str]:
    """Every combination of evidence windows, named once (not per row)."""
    size = len(programme.evidence_windows)
    return {mask: "; ".join(reasons.window_names(programme, mask, english)) for mask in range(1 << size)}


def _plan_statuses(ctx: ExportContext, reveal: bool) -> Plan:
    snapshot = _snapshot(ctx)
    session, vault, programme = ctx.session, ctx.vault, ctx.programme
    where = WorkerStatus.snapshot_id == snapshot.id
    count = session.scalar(sa.select(sa.func.count()).select_from(WorkerStatus).where(where)) or 0
    windows = window_names_by_mask(programme, ctx.english)
    labels = {code: reasons.reason_label(code) for code in reasons.ALL_REASONS}
    secret = (Worker.id_number_encrypted, User.phone_encrypted) if reveal else (sa.null(), sa.null())

    def rows():
        status, headcount = WorkerStatus, EnterpriseHeadcount
        query = (
            sa.select(status.worker_id, Worker.name, Worker.id_number_tail, User.phone_masked, *secret,
                      sa.func.coalesce(headcount.credit_code, Enterprise.credit_code),
                      sa.func.coalesce(headcount.name, Enterprise.name),
                      sa.func.coalesce(headcount.district, Enterprise.district),
                      status.on_roster, status.confirmed, status.reason, status.windows_satisfied,
                      status.windows_missed, status.permit_valid, status.departed_on)
            .join(Worker, Worker.id == status.worker_id)
            .join(User, User.id == Worker.user_id)
            .outerjoin(headcount, sa.and_(headcount.snapshot_id == status.snapshot_id,
                                          headcount.enterprise_id == status.enterprise_id))
            .outerjoin(Enterprise, Enterprise.id == status.enterprise_id)
            .where(where).order_by(status.worker_id)
        )
        for (worker_id, name, tail, phone_masked, id_encrypted, phone_encrypted, credit_code, enterprise, district,
             on_roster, confirmed, reason, satisfied, missed, permit_valid, departed_on) in session.execute(
                query.execution_options(yield_per=YIELD_PER)):
            person = _person(vault, reveal, name, tail, id_encrypted, phone_masked, phone_encrypted)
            yield (worker_id, *person, credit_code or "", enterprise or "", district or "", bool(on_roster),
                   bool(confirmed), reason, labels.get(reason, reason), windows.get(satisfied, ""),
                   windows.get(missed, ""), bool(permit_valid), departed_on)

    return Plan(count, rows, _snapshot_details(ctx), _snapshot_stem(ctx))


def _plan_handouts(ctx: ExportContext, reveal: bool) -> Plan:
    session, vault, programme = ctx.session, ctx.vault, ctx.programme
    last_id = session.scalar(sa.select(sa.func.max(PackHandout.id))) or 0
    where = PackHandout.id <= last_id
    count = session.scalar(sa.select(sa.func.count()).select_from(PackHandout).where(where)) or 0
    secret = (Worker.id_number_encrypted, User.phone_encrypted) if reveal else (sa.null(), sa.null())

    def rows():
        query = (
            sa.select(PackHandout.id, PackHandout.handed_out_at, PackHandout.confirmed_at, PickupPoint.code,
                      PickupPoint.name, PickupPoint.district, Worker.name, Worker.id_number_tail, User.phone_masked,
                      *secret)
            .join(PickupPoint, PickupPoint.id == PackHandout.pickup_point_id)
            .join(Worker, Worker.id == PackHandout.worker_id)
            .join(User, User.id == Worker.user_id)
            .where(where).order_by(PackHandout.id)
        )
        for (handout_id, handed_out_at, confirmed_at, code, point, district, name, tail, phone_masked, id_encrypted,
             phone_encrypted) in session.execute(query.execution_options(yield_per=YIELD_PER)):
            yield (handout_id, local_text(programme, handed_out_at), local_text(programme, confirmed_at), code, point,
                   district, *_person(vault, reveal, name, tail, id_encrypted, phone_masked, phone_encrypted))

    return Plan(count, rows, {"last_id": last_id})


def _plan_claims(ctx: ExportContext, reveal: bool) -> Plan:
    session, vault, programme = ctx.session, ctx.vault, ctx.programme
    last_id = session.scalar(sa.select(sa.func.max(DataBonusClaim.id))) or 0
    where = DataBonusClaim.id <= last_id
    count = session.scalar(sa.select(sa.func.count()).select_from(DataBonusClaim).where(where)) or 0
    # The claim keeps the number it was made for (the carrier delivers to it): that one is shown.
    secret = (Worker.id_number_encrypted, DataBonusClaim.phone_encrypted) if reveal else (sa.null(), sa.null())

    def rows():
        claim = DataBonusClaim
        query = (
            sa.select(claim.id, claim.claimed_at, claim.carrier, claim.carrier_derived, claim.gigabytes, claim.status,
                      claim.reason, claim.resolved_at, Worker.name, Worker.id_number_tail, claim.phone_masked, *secret)
            .join(Worker, Worker.id == claim.worker_id)
            .where(where).order_by(claim.id)
        )
        for (claim_id, claimed_at, carrier, derived, gigabytes, status, reason, resolved_at, name, tail, phone_masked,
             id_encrypted, phone_encrypted) in session.execute(query.execution_options(yield_per=YIELD_PER)):
            yield (claim_id, local_text(programme, claimed_at), carrier, derived or "", gigabytes,
                   str(getattr(status, "value", status)), reason, local_text(programme, resolved_at),
                   *_person(vault, reveal, name, tail, id_encrypted, phone_masked, phone_encrypted))

    return Plan(count, rows, {"last_id": last_id})


def _plan_registrations_by_enterprise(ctx: ExportContext, _reveal: bool) -> Plan:
    """Per enterprise (thousands of rows, counted in SQL): workers registered, how (themselves or
    on the roster), employment confirmed, pledged; then the workers with no employer."""
    session = ctx.session
    per = (
        sa.select(Worker.enterprise_id.label("enterprise_id"), sa.func.count().label("registered"),
                  sa.func.sum(sa.case((Worker.registered_via == "self", 1), else_=0)).label("self_registered"),
                  sa.func.sum(sa.case((Worker.registered_via == "roster", 1), else_=0)).label("roster"),
                  sa.func.sum(sa.case((Worker.employment_confirmed == sa.true(), 1), else_=0)).label("confirmed"),
                  sa.func.sum(sa.case((Worker.pledged_at.is_not(None), 1), else_=0)).label("pledged"))
        .group_by(Worker.enterprise_id).subquery("per_enterprise")
    )
    figures = [sa.func.coalesce(column, 0) for column in
               (per.c.registered, per.c.self_registered, per.c.roster, per.c.confirmed, per.c.pledged)]
    rows = [
        (credit_code, name, district, str(getattr(ownership, "value", ownership)), *map(int, counts))
        for credit_code, name, district, ownership, *counts in session.execute(
            sa.select(Enterprise.credit_code, Enterprise.name, Enterprise.district, Enterprise.ownership, *figures)
            .outerjoin(per, per.c.enterprise_id == Enterprise.id).order_by(Enterprise.credit_code))
    ]
    nobody = session.execute(sa.select(*figures).where(per.c.enterprise_id.is_(None))).first()
    if nobody is not None:
        rows.append(("", "", "", "", *map(int, nobody)))
    return Plan(len(rows), _materialised(rows))


PERSON_COLUMNS = ("name", "id_number", "phone")

DATASETS: dict[str, Dataset] = {dataset.name: dataset for dataset in (
    Dataset("registrations-by-day", _l("Registrations per day"),
            _l("Workers registered per day (Wenzhou time), by themselves or on an enterprise roster."),
            ("date", "self", "roster", "total"), _plan_registrations, chart=True),
    Dataset("scans-by-day", _l("Accepted scans per day"),
            _l("Accepted staff scans per day (Wenzhou time), by kind of checkpoint."),
            ("date", "gate", "venue", "pickup", "training", "total"), _plan_scans, chart=True),
    Dataset("districts", _l("Pledged and confirmed by district"),
            _l("Workers who pledged to stay and workers confirmed (or, before the cutoff, on track), by district."),
            ("district", "pledged", "confirmed"), _plan_districts, chart=True),
    Dataset("subsidy-tiers", _l("Retention subsidies by tier"),
            _l("Enterprises, their retained workers and the subsidy amount per tier, from the snapshot."),
            ("tier_min_retained", "enterprises", "retained", "amount_yuan"), _plan_tiers, chart=True,
            needs_snapshot=True),
    Dataset("welfare-points", _l("Welfare packs by pickup point"),
            _l("Packs handed out and left at each pickup point."),
            ("pickup_code", "name", "district", "handed_out", "stock_left", "delivered"), _plan_welfare, chart=True,
            labels={"name": _l("Pickup point")}),
    Dataset("data-bonus-by-carrier", _l("Data bonuses by carrier"),
            _l("Data-bonus claims per carrier and status."),
            ("carrier", "pending", "fulfilled", "failed", "total"), _plan_data_bonus, chart=True),
    Dataset("enterprise-headcounts", _l("Enterprise headcounts"),
            _l("Every enterprise in the snapshot: roster, retained workers, tier and amount; the admin's phone."),
            ("credit_code", "name", "district", "ownership", "industrial", "roster", "retained", "tier",
             "amount_yuan", "admin_phone"), _plan_headcounts, reveals=("admin_phone",), needs_snapshot=True,
            labels={"name": _l("Enterprise"), "roster": _l("Workers on the roster")}),
    Dataset("worker-statuses", _l("Worker statuses"),
            _l("Every worker in the snapshot: employer, status and reason, periods with and without a scan."),
            ("worker_id", *PERSON_COLUMNS, "credit_code", "enterprise", "district", "on_roster", "confirmed",
             "reason", "reason_text", "periods_with_scan", "periods_missed", "permit_valid", "departed_on"),
            _plan_statuses, reveals=PERSON_COLUMNS, needs_snapshot=True),
    Dataset("welfare-handouts", _l("Welfare-pack hand-outs"),
            _l("Every pack handed out: when, where and to whom."),
            ("handout_id", "handed_out_at", "confirmed_at", "pickup_code", "pickup_point", "district",
             *PERSON_COLUMNS), _plan_handouts, reveals=PERSON_COLUMNS),
    Dataset("data-bonus-claims", _l("Data-bonus claims"),
            _l("Every data-bonus claim: carrier, status and the number it is for."),
            ("claim_id", "claimed_at", "carrier", "carrier_derived", "gigabytes", "status", "reason", "resolved_at",
             *PERSON_COLUMNS), _plan_claims, reveals=PERSON_COLUMNS),
    Dataset("registrations-by-enterprise", _l("Registrations by enterprise"),
            _l("Per enterprise: workers registered (themselves or on the roster), employment confirmed, pledged."),
            ("credit_code", "name", "district", "ownership", "registered", "self_registered", "roster",
             "employment_confirmed", "pledged"), _plan_registrations_by_enterprise,
            labels={"name": _l("Enterprise"), "roster": _l("On an enterprise roster")}),
)}


# --- the record of an export ------------------------------------------------------------------------------

def export_details(dataset: Dataset, plan: Plan, fmt: str, *, reveal: bool, reason: str | None) -> dict:
    """What the audit entry says: which list, which format, how many rows, masked or not (and, when
    not, which columns were revealed and why), and what the rows were read from."""
    details = {"dataset": dataset.name, "format": fmt, "rows": plan.count, "masked": not reveal, **plan.details}
    if reveal:
        details.update(revealed=list(dataset.reveals), reason=reason)
    return details


def record_export(session: Session, *, name: str, details: dict, rows: int, at: datetime, actor=None,
                  actor_role: str | None = None, ip: str | None = None) -> None:
    """The audit entry of one export (``name``: a dataset's, or ``figures``), in the caller's unit of
    work (written before the file leaves)."""
    record_audit(session, at=at, actor=actor, actor_role=actor_role,
                 action="admin.export" if details["masked"] else "admin.export.unmasked", target_type="dataset",
                 target_id=name, details={**details, "rows": rows}, ip=ip)


def file_name(dataset: Dataset, plan: Plan, fmt: str, *, reveal: bool, today) -> str:
    parts = ["wzcheckin", dataset.name, plan.stem or today.strftime("%Y%m%d")]
    if dataset.personal:
        parts.append("full" if reveal else "masked")
    return "-".join(parts) + "." + fmt
