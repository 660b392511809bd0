"""Admin room, the figures people ask for (issue 14 item 8), each read **as of a stated instant**:
workers staying per day, retention by district and by enterprise, health alerts per district per
day, and wage complaints with their amounts per district.

"As of T" means what the system knew at T, never what it knows now:

* **staying per day** — the cutoff's own evidence rules (``residence.evidence.evidence_rows``): a
  worker counts on a Wenzhou day when an accepted staff scan of them (a self check-in where the
  programme says so) was scanned that day and received by T; split by the hukou the worker's
  facts (``WorkerFacts``) gave at T: non-local (the programme's people) or not (Wenzhou hukou, or
  still to be reviewed);
* **retention** — the decision that held at T: after the cutoff, the official snapshot once it
  was complete, superseded by the latest correction written by T; before the cutoff (or while the
  official snapshot was not complete yet), the cutoff's rules (``residence.confirmation``) applied
  as of T — a preview before the cutoff ("on track"), the strict rules after it;
* **health alerts** — alerts raised before T, on the Wenzhou day they were raised, in the district
  the enterprise's facts (``EnterpriseFacts``) gave when the alert was raised;
* **wage complaints** — complaints filed before T, with the status their handling notes had given
  them by T (the latest note before T; none: received), in the district of the employer's facts
  when the complaint was filed (an employer not registered with the programme: no district).

Every function takes the session, the programme and T, reads only, and aggregates in SQL: no scan,
alert or complaint is loaded into Python. A figure reads raw rows that ``wzcheckin retention
purge`` deletes after the appeal window (scans, health alerts): from then on only retention,
which reads decisions, can still be read as of an earlier instant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.models import Worker, WorkerFacts
from wzcheckin.admin.errors import AdminRefusal
from wzcheckin.admin.stats import DayRange, local_day, programme_last_day
from wzcheckin.benefits.models import ComplaintNote, ComplaintStatus, WageComplaint
from wzcheckin.core.facts import true_at
from wzcheckin.core.roles import OFFICIAL_ROLES, Role
from wzcheckin.enterprises.models import Enterprise, EnterpriseFacts, HealthAlert
from wzcheckin.programme import HukouStatus, Programme
from wzcheckin.residence.confirmation import rules_for, status_select
from wzcheckin.residence.evidence import evidence_rows
from wzcheckin.residence.models import (
    Correction,
    CorrectionWorker,
    EnterpriseHeadcount,
    Snapshot,
    SnapshotKind,
    SnapshotPhase,
    WorkerStatus,
)

NO_DISTRICT = ""  # workers without an employer; complaints against an unregistered employer
STAYING_SERIES = ("non_local", "other")
HEALTH_REASONS = ("fever", "symptoms")
COMPLAINT_STATUSES = tuple(status.value for status in ComplaintStatus)

# --- who reads which figure (least privilege, issue 14 item 5) --------------------------------------

STAYING, RETENTION, HEALTH, COMPLAINTS = "staying", "retention", "health", "complaints"
FIGURES = (STAYING, RETENTION, HEALTH, COMPLAINTS)
# The programme office and the auditor read every figure; each bureau the one that concerns it:
# 卫健委 the health alerts, 人社局 the wage complaints.
FIGURE_READERS: dict[str, tuple[Role, ...]] = {
    STAYING: (Role.OFFICIAL, Role.AUDITOR),
    RETENTION: (Role.OFFICIAL, Role.AUDITOR),
    HEALTH: (Role.OFFICIAL, Role.AUDITOR, Role.HEALTH_OFFICIAL),
    COMPLAINTS: (Role.OFFICIAL, Role.AUDITOR, Role.HR_OFFICIAL),
}
FIGURES_ROLES = tuple(role for role in OFFICIAL_ROLES if any(role in roles for roles in FIGURE_READERS.values()))


class InstantRefused(AdminRefusal):
    """An as-of instant that cannot be read: ``code`` is ``instant_format`` or ``instant_future``."""

    def __init__(self, code: str):
        super().__init__(code, "as_of")


def parse_as_of(programme: Programme, text: str | None, now: datetime) -> datetime:
    """The instant asked for (ISO 8601; without a UTC offset, Wenzhou time; a date alone is its
    00:00), or ``now`` when none is given. An instant after ``now`` is refused: nothing is known
    of it yet."""
    text = (text or "").strip()
    if not text:
        return now
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise InstantRefused("instant_format") from None
    if not 2000 <= instant.year <= 2100:
        raise InstantRefused("instant_format")
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=programme.tz)
    instant = instant.astimezone(now.tzinfo)
    if instant > now:
        raise InstantRefused("instant_future")
    return instant


def figures_for(role: Role) -> tuple[str, ...]:
    return tuple(name for name in FIGURES if role in FIGURE_READERS[name])


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _district_order(district: str) -> tuple:
    """Named districts in code-point order (the same on every database), no district last."""
    return (district == NO_DISTRICT, district)


def day_before(programme: Programme, instant: datetime) -> date:
    """The Wenzhou day the instant falls in (an instant at midnight: the day that just ended)."""
    return programme.local_date(instant - timedelta(microseconds=1))


# --- workers staying per day ----------------------------------------------------------------------------

@dataclass
class StayingTable:
    """Workers with evidence per Wenzhou day of the evidence period, up to the instant."""

    as_of: datetime
    range: DayRange | None                     # None: the period had not begun at the instant
    holiday: tuple[date, date] | None          # the public holiday, when the programme names one
    counts: dict[tuple[date, str], int] = field(default_factory=dict)

    def value(self, day: date, key: str) -> int:
        return self.counts.get((day, key), 0)

    def day_total(self, day: date) -> int:
        return sum(self.value(day, key) for key in STAYING_SERIES)

    def is_holiday(self, day: date) -> bool:
        return self.holiday is not None and self.holiday[0] <= day <= self.holiday[1]

    @property
    def days(self) -> list[date]:
        return self.range.days if self.range else []

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def rows(self) -> list[dict]:
        return [{"day": day.isoformat(), "holiday": self.is_holiday(day), "non_local": self.value(day, "non_local"),
                 "other": self.value(day, "other"), "total": self.day_total(day)} for day in self.days]


def evidence_period(programme: Programme) -> DayRange:
    """From the first evidence window's first day to the last one's last day (1–28 Feb in 2021):
    the days the cutoff looks for evidence on, the Spring Festival holiday among them."""
    return DayRange(programme.evidence_windows[0].start, programme.evidence_windows[-1].end)


def staying_per_day(session: Session, programme: Programme, as_of: datetime) -> StayingTable:
    """Distinct workers per Wenzhou day with evidence of presence (the cutoff's rules), known at
    ``as_of``; by their hukou at ``as_of``. Days that had not begun at ``as_of`` are not listed."""

    period = evidence_period(programme)
    section = programme.programme
    holiday = (section.holiday_start, section.holiday_end) if section.holiday_start and section.holiday_end else None
    start = programme.local_day_start(period.first)
    if as_of <= start:
        return StayingTable(as_of, None, holiday)
    last = min(period.last, day_before(programme, as_of))
    day_range = DayRange(period.first, last)
    end = min(programme.local_day_end(last), as_of)
    evidence = evidence_rows(programme, as_of=as_of, known_at=as_of).subquery("evidence")
    day = local_day(evidence.c.at, programme, _dialect(session), start, end)
    # One row per worker and day, however many scans: DISTINCT before the hukou is joined.
    present = (sa.select(evidence.c.worker_id.label("worker_id"), day.label("day"))
               .where(evidence.c.at >= start, evidence.c.at < end)
               .distinct()
               .subquery("present"))
    series = sa.case((WorkerFacts.hukou_status == HukouStatus.NON_LOCAL.value, "non_local"), else_="other")
    located = (sa.select(present.c.day.label("day"), series.label("series"))
               .select_from(present)
               .outerjoin(WorkerFacts, sa.and_(WorkerFacts.worker_id == present.c.worker_id,
                                               true_at(WorkerFacts, as_of)))
               .subquery("located"))
    table = StayingTable(as_of, day_range, holiday)
    for day_value, key, count in session.execute(
            sa.select(located.c.day, located.c.series, sa.func.count()).group_by(located.c.day, located.c.series)):
        table.counts[(_as_date(day_value), str(key))] = int(count)
    return table


# --- retention by district and by enterprise -------------------------------------------------------------

@dataclass
class RetentionRow:
    district: str
    registered: int
    staying: int
    credit_code: str = ""
    name: str = ""

    @property
    def share(self) -> float | None:
        return self.staying / self.registered if self.registered else None

    def record(self, by_enterprise: bool) -> dict:
        row = {"district": self.district, "registered": self.registered, "staying": self.staying,
               "share": round(self.share, 4) if self.share is not None else None}
        if by_enterprise:
            row = {"credit_code": self.credit_code, "name": self.name, **row}
        return row


@dataclass
class Retention:
    """Registered workers and, of them, those staying (on track before the cutoff, confirmed
    after it), by district and by enterprise, as decided at the instant.

    ``basis``: ``official`` (the official snapshot), ``correction`` (its latest correction written
    by the instant), ``preview`` (the cutoff's rules applied as of the instant, before the cutoff:
    windows still open count against nobody) or ``computed`` (after the cutoff, before the
    official snapshot was complete: the cutoff's strict rules, as of the cutoff, knowing what was
    received by the instant)."""

    as_of: datetime
    basis: str
    decided_as_of: datetime
    correction_version: int | None
    correction_at: datetime | None
    by_district: list[RetentionRow]
    by_enterprise: list[RetentionRow]

    @property
    def registered(self) -> int:
        return sum(row.registered for row in self.by_district)

    @property
    def staying(self) -> int:
        return sum(row.staying for row in self.by_district)

    @property
    def confirmed_word(self) -> str:
        return "on_track" if self.basis == "preview" else "confirmed"


def official_decision(session: Session, programme: Programme, as_of: datetime) -> tuple[Snapshot | None, Correction | None]:
    """The official snapshot if it was complete at ``as_of``, and its latest correction written by
    then."""
    if as_of < programme.cutoff:
        return None, None
    snapshot = session.scalar(sa.select(Snapshot).where(
        Snapshot.kind == SnapshotKind.OFFICIAL, Snapshot.as_of == programme.cutoff,
        Snapshot.phase == SnapshotPhase.COMPLETE, Snapshot.completed_at <= as_of))
    if snapshot is None:
        return None, None
    correction = session.scalar(sa.select(Correction).where(Correction.snapshot_id == snapshot.id,
                                                            Correction.created_at <= as_of)
                                .order_by(Correction.version.desc()).limit(1))
    return snapshot, correction


def _per_enterprise_from_snapshot(snapshot: Snapshot, correction: Correction | None) -> sa.Subquery:
    status = WorkerStatus
    if correction is None:
        source = sa.select(status.enterprise_id, status.confirmed.label("confirmed")).where(
            status.snapshot_id == snapshot.id)
    else:
        # A correction lists every worker whose outcome differs from the snapshot's.
        changed = CorrectionWorker
        confirmed = sa.func.coalesce(changed.confirmed, status.confirmed)
        source = (sa.select(status.enterprise_id, confirmed.label("confirmed"))
                  .select_from(status)
                  .outerjoin(changed, sa.and_(changed.correction_id == correction.id,
                                              changed.worker_id == status.worker_id))
                  .where(status.snapshot_id == snapshot.id))
    rows = source.subquery("outcomes")
    return (sa.select(rows.c.enterprise_id.label("enterprise_id"), sa.func.count().label("registered"),
                      sa.func.sum(sa.case((rows.c.confirmed == sa.true(), 1), else_=0)).label("staying"))
            .group_by(rows.c.enterprise_id)
            .subquery("per_enterprise"))


def _per_enterprise_computed(session: Session, programme: Programme, rules) -> sa.Subquery:

    last_id = session.scalar(sa.select(sa.func.max(Worker.id))) or 0
    rows = status_select(programme, rules, worker_range=(0, last_id)).subquery("statuses")
    return (sa.select(rows.c.enterprise_id.label("enterprise_id"), sa.func.count().label("registered"),
                      sa.func.sum(sa.case((rows.c.confirmed == sa.true(), 1), else_=0)).label("staying"))
            .group_by(rows.c.enterprise_id)
            .subquery("per_enterprise"))


def retention(session: Session, programme: Programme, as_of: datetime) -> Retention:
    """Registered vs staying per enterprise and per district, as decided at ``as_of``.

    Registered: the workers the decision linked to the enterprise (their employer in the facts of
    its instant), whether or not the enterprise had confirmed them on its roster; staying: those
    of them confirmed (on track). Workers with no employer are a district of their own and no
    enterprise."""

    snapshot, correction = official_decision(session, programme, as_of)
    if snapshot is not None:
        per_enterprise = _per_enterprise_from_snapshot(snapshot, correction)
        located = (sa.select(per_enterprise.c.enterprise_id, per_enterprise.c.registered, per_enterprise.c.staying,
                             EnterpriseHeadcount.credit_code, EnterpriseHeadcount.name,
                             EnterpriseHeadcount.district)
                   .select_from(per_enterprise)
                   .outerjoin(EnterpriseHeadcount, sa.and_(EnterpriseHeadcount.snapshot_id == snapshot.id,
                                                           EnterpriseHeadcount.enterprise_id
                                                           == per_enterprise.c.enterprise_id)))
        basis = "correction" if correction is not None else "official"
        decided_as_of = programme.cutoff
    else:
        decision_instant = min(as_of, programme.cutoff)
        kind = SnapshotKind.PREVIEW if as_of < programme.cutoff else SnapshotKind.OFFICIAL
        rules = rules_for(programme, decision_instant, kind, known_at=as_of)
        per_enterprise = _per_enterprise_computed(session, programme, rules)
        facts = EnterpriseFacts
        located = (sa.select(per_enterprise.c.enterprise_id, per_enterprise.c.registered, per_enterprise.c.staying,
                             Enterprise.credit_code, sa.func.coalesce(facts.name, Enterprise.name),
                             sa.func.coalesce(facts.district, Enterprise.district))
                   .select_from(per_enterprise)
                   .outerjoin(Enterprise, Enterprise.id == per_enterprise.c.enterprise_id)
                   .outerjoin(facts, sa.and_(facts.enterprise_id == per_enterprise.c.enterprise_id,
                                             true_at(facts, decision_instant))))
        basis = "preview" if kind is SnapshotKind.PREVIEW else "computed"
        decided_as_of = decision_instant
    by_enterprise: list[RetentionRow] = []
    districts: dict[str, RetentionRow] = {}
    for enterprise_id, registered, staying, credit_code, name, district in session.execute(located):
        district = (district or NO_DISTRICT) if enterprise_id is not None else NO_DISTRICT
        registered, staying = int(registered or 0), int(staying or 0)
        total = districts.setdefault(district, RetentionRow(district, 0, 0))
        total.registered += registered
        total.staying += staying
        if enterprise_id is not None:
            by_enterprise.append(RetentionRow(district, registered, staying, credit_code or "", name or ""))
    by_enterprise.sort(key=lambda row: (-row.registered, row.credit_code))
    by_district = sorted(districts.values(), key=lambda row: _district_order(row.district))
    return Retention(as_of, basis, decided_as_of, correction.version if correction else None,
                     correction.created_at if correction else None, by_district, by_enterprise)


# --- health alerts per district per day ------------------------------------------------------------------

@dataclass
class HealthTable:
    """Alerts raised before the instant per Wenzhou day of the programme, district and reason."""

    as_of: datetime
    range: DayRange | None
    counts: dict[tuple[date, str, str], int] = field(default_factory=dict)  # (day, district, reason)

    @property
    def reasons(self) -> tuple[str, ...]:
        extra = sorted({reason for _d, _district, reason in self.counts} - set(HEALTH_REASONS))
        return (*HEALTH_REASONS, *extra)

    @property
    def days(self) -> list[date]:
        return self.range.days if self.range else []

    def day_value(self, day: date, reason: str) -> int:
        return sum(count for (d, _district, r), count in self.counts.items() if d == day and r == reason)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def rows(self) -> list[dict]:
        """One row per day and district with any alert, by day then district."""
        cells: dict[tuple[date, str], dict[str, int]] = {}
        for (day, district, reason), count in self.counts.items():
            cells.setdefault((day, district), {})[reason] = count
        rows = []
        for day, district in sorted(cells, key=lambda key: (key[0], _district_order(key[1]))):
            counts = cells[(day, district)]
            rows.append({"day": day.isoformat(), "district": district,
                         **{reason: counts.get(reason, 0) for reason in self.reasons},
                         "total": sum(counts.values())})
        return rows

    def by_district(self) -> list[dict]:
        totals: dict[str, dict[str, int]] = {}
        for (_day, district, reason), count in self.counts.items():
            row = totals.setdefault(district, dict.fromkeys(self.reasons, 0))
            row[reason] = row.get(reason, 0) + count
        return [{"district": district, **totals[district], "total": sum(totals[district].values())}
                for district in sorted(totals, key=_district_order)]


def programme_days_until(programme: Programme, as_of: datetime) -> DayRange | None:
    """The programme's Wenzhou days (from ``starts`` to the last day before the cutoff) that had
    begun at ``as_of``; None before its first day."""
    first = programme.programme.starts
    if as_of <= programme.local_day_start(first):
        return None
    return DayRange(first, min(programme_last_day(programme), day_before(programme, as_of)))


def health_alerts(session: Session, programme: Programme, as_of: datetime) -> HealthTable:
    """Fever and symptom alerts (P9) raised before ``as_of``, per Wenzhou day and district."""
    day_range = programme_days_until(programme, as_of)
    table = HealthTable(as_of, day_range)
    if day_range is None:
        return table
    start = programme.local_day_start(day_range.first)
    end = min(programme.local_day_end(day_range.last), as_of)
    alert, facts = HealthAlert, EnterpriseFacts
    inner = (
        sa.select(local_day(alert.raised_at, programme, _dialect(session), start, end).label("day"),
                  sa.func.coalesce(facts.district, Enterprise.district, NO_DISTRICT).label("district"),
                  alert.reason.label("reason"))
        .select_from(alert)
        .join(Enterprise, Enterprise.id == alert.enterprise_id)
        # The district the enterprise's facts gave when the alert was raised.
        .outerjoin(facts, sa.and_(facts.enterprise_id == alert.enterprise_id, true_at(facts, alert.raised_at)))
        .where(alert.raised_at >= start, alert.raised_at < end)
        .subquery("alerts")
    )
    for day_value, district, reason, count in session.execute(
            sa.select(inner.c.day, inner.c.district, inner.c.reason, sa.func.count())
            .group_by(inner.c.day, inner.c.district, inner.c.reason)):
        table.counts[(_as_date(day_value), district or NO_DISTRICT, str(reason))] = int(count)
    return table


# --- wage complaints per district ---------------------------------------------------------------------------

@dataclass
class ComplaintRow:
    district: str
    counts: dict[str, int]
    amounts_fen: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def amount_fen(self) -> int:
        return sum(self.amounts_fen.values())

    def record(self) -> dict:
        return {"district": self.district, **{status: self.counts.get(status, 0) for status in COMPLAINT_STATUSES},
                "total": self.total, "amount_yuan": yuan(self.amount_fen),
                **{f"{status}_amount_yuan": yuan(self.amounts_fen.get(status, 0)) for status in COMPLAINT_STATUSES}}


@dataclass
class ComplaintTable:
    as_of: datetime
    rows: list[ComplaintRow]

    @property
    def total(self) -> int:
        return sum(row.total for row in self.rows)

    @property
    def amount_fen(self) -> int:
        return sum(row.amount_fen for row in self.rows)

    def status_total(self, status: str) -> int:
        return sum(row.counts.get(status, 0) for row in self.rows)


def yuan(fen: int) -> int | float:
    """Fen as yuan: a whole number when it is one, else with its two decimals."""
    return fen // 100 if fen % 100 == 0 else round(fen / 100, 2)


def wage_complaints(session: Session, programme: Programme, as_of: datetime) -> ComplaintTable:
    """欠薪投诉 (P10) filed before ``as_of``: per district and status (as the handling notes had set
    it by then), with the amounts claimed."""
    complaint, facts = WageComplaint, EnterpriseFacts
    status_then = (sa.select(ComplaintNote.status)
                   .where(ComplaintNote.complaint_id == complaint.id, ComplaintNote.at < as_of)
                   .order_by(ComplaintNote.at.desc(), ComplaintNote.id.desc())
                   .limit(1)
                   .scalar_subquery())
    inner = (
        sa.select(sa.func.coalesce(facts.district, Enterprise.district, NO_DISTRICT).label("district"),
                  sa.func.coalesce(status_then, ComplaintStatus.RECEIVED.value).label("status"),
                  complaint.amount_fen.label("amount_fen"))
        .select_from(complaint)
        .outerjoin(Enterprise, Enterprise.id == complaint.enterprise_id)
        # The district the employer's facts gave when the complaint was filed.
        .outerjoin(facts, sa.and_(facts.enterprise_id == complaint.enterprise_id,
                                  true_at(facts, complaint.filed_at)))
        .where(complaint.filed_at < as_of)
        .subquery("complaints")
    )
    rows: dict[str, ComplaintRow] = {}
    for district, status, count, amount in session.execute(
            sa.select(inner.c.district, inner.c.status, sa.func.count(), sa.func.sum(inner.c.amount_fen))
            .group_by(inner.c.district, inner.c.status)):
        district = district or NO_DISTRICT
        row = rows.setdefault(district, ComplaintRow(district, dict.fromkeys(COMPLAINT_STATUSES, 0),
                                                     dict.fromkeys(COMPLAINT_STATUSES, 0)))
        key = str(getattr(status, "value", status))
        row.counts[key] = row.counts.get(key, 0) + int(count)
        row.amounts_fen[key] = row.amounts_fen.get(key, 0) + int(amount or 0)
    return ComplaintTable(as_of, [rows[key] for key in sorted(rows, key=_district_order)])


# --- all of them -------------------------------------------------------------------------------------------

@dataclass
class Figures:
    as_of: datetime
    staying: StayingTable | None = None
    retention: Retention | None = None
    health: HealthTable | None = None
    complaints: ComplaintTable | None = None

    def record(self) -> dict:
        """The JSON of ``wzcheckin report figures``: the figures computed, by name."""
        result: dict = {"as_of": self.as_of.isoformat()}
        if self.staying is not None:
            result["staying_per_day"] = self.staying.rows()
        if self.retention is not None:
            r = self.retention
            result["retention"] = {
                "basis": r.basis, "decided_as_of": r.decided_as_of.isoformat(),
                "correction_version": r.correction_version, "staying_means": r.confirmed_word,
                "by_district": [row.record(False) for row in r.by_district],
                "by_enterprise": [row.record(True) for row in r.by_enterprise],
            }
        if self.health is not None:
            result["health_alerts"] = self.health.rows()
        if self.complaints is not None:
            result["wage_complaints"] = [row.record() for row in self.complaints.rows]
        return result

    def csv_rows(self):
        """Every figure in one long table (``FIGURES_CSV_HEADER``), one value a line: the shape a
        spreadsheet's pivot table reads."""
        at = self.as_of.isoformat()
        if self.staying is not None:
            for row in self.staying.rows():
                for key in (*STAYING_SERIES, "total"):
                    yield ["staying_per_day", at, row["day"], "", "", "", key, row[key]]
        if self.retention is not None:
            for row in self.retention.by_district:
                for key in ("registered", "staying"):
                    yield ["retention_by_district", at, "", row.district, "", "", key, getattr(row, key)]
            for row in self.retention.by_enterprise:
                for key in ("registered", "staying"):
                    yield ["retention_by_enterprise", at, "", row.district, row.credit_code, row.name, key,
                           getattr(row, key)]
        if self.health is not None:
            for row in self.health.rows():
                for key in (*self.health.reasons, "total"):
                    yield ["health_alerts", at, row["day"], row["district"], "", "", key, row[key]]
        if self.complaints is not None:
            for row in self.complaints.rows:
                record = row.record()
                for key in (*COMPLAINT_STATUSES, "total", "amount_yuan"):
                    yield ["wage_complaints", at, "", row.district, "", "", key, record[key]]


FIGURES_CSV_HEADER = ("figure", "as_of", "day", "district", "credit_code", "enterprise", "measure", "value")


def compute(session: Session, programme: Programme, as_of: datetime, names=FIGURES) -> Figures:
    """The figures named (by default all), as of ``as_of``."""
    figures = Figures(as_of)
    if STAYING in names:
        figures.staying = staying_per_day(session, programme, as_of)
    if RETENTION in names:
        figures.retention = retention(session, programme, as_of)
    if HEALTH in names:
        figures.health = health_alerts(session, programme, as_of)
    if COMPLAINTS in names:
        figures.complaints = wage_complaints(session, programme, as_of)
    return figures
