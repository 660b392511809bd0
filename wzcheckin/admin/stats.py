"""Admin room, the dashboard's figures: the table behind every chart, aggregated in SQL.

Nothing here loads a scan, a registration or a hand-out into Python: each function is a
``GROUP BY`` whose result has one row per day, district, tier, pickup point or carrier. Days are
local days of the programme's timezone (Asia/Shanghai: a scan at 16:00 UTC is already the next
day in Wenzhou). The bucketing is done in SQL, per dialect (see :func:`local_day`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.models import Worker
from wzcheckin.benefits.models import ClaimStatus, DataBonusClaim
from wzcheckin.db import UTCDateTime
from wzcheckin.directory.models import Enterprise
from wzcheckin.programme import Programme
from wzcheckin.residence.models import EnterpriseHeadcount, Snapshot, SnapshotKind, SnapshotPhase, WorkerStatus
from wzcheckin.scanning.models import Checkpoint, CheckpointKind, Scan, ScanResult
from wzcheckin.welfare.models import PickupPoint

MAX_RANGE_DAYS = 366
REGISTRATION_CHANNELS = ("self", "roster")
SCAN_KINDS = tuple(kind.value for kind in CheckpointKind)
CLAIM_STATUSES = tuple(status.value for status in ClaimStatus)


# --- the period shown ---------------------------------------------------------------------------

@dataclass(frozen=True)
class DayRange:
    """Local days ``first`` … ``last`` (inclusive) of the programme's timezone."""

    first: date
    last: date

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def bounds(self, programme: Programme) -> tuple[datetime, datetime]:
        """[start, end) in UTC."""
        return programme.local_day_start(self.first), programme.local_day_end(self.last)


def programme_last_day(programme: Programme) -> date:
    """The last local day before the cutoff (28 Feb for a cutoff of 1 March 00:00)."""
    return programme.local_date(programme.cutoff - timedelta(microseconds=1))


def default_range(programme: Programme, now: datetime) -> DayRange:
    """From the programme's start to today, or to its last day once the cutoff has passed."""
    first = programme.programme.starts
    last = min(max(programme.local_date(now), first), programme_last_day(programme))
    return DayRange(first, max(first, last))


def parse_range(programme: Programme, now: datetime, first_text: str | None,
                last_text: str | None) -> tuple[DayRange, bool]:
    """The range asked for in the query string; (the default, False) when it is not usable."""
    fallback = default_range(programme, now)
    if not first_text and not last_text:
        return fallback, True
    try:
        first = date.fromisoformat(first_text) if first_text else fallback.first
        last = date.fromisoformat(last_text) if last_text else fallback.last
    except ValueError:
        return fallback, False
    if last < first or (last - first).days >= MAX_RANGE_DAYS or first.year < 2000 or last.year > 2100:
        return fallback, False
    return DayRange(first, last), True


# --- local days in SQL --------------------------------------------------------------------------

def _offset_at(programme: Programme, instant: datetime) -> int:
    return int(instant.astimezone(programme.tz).utcoffset().total_seconds())


def offset_segments(programme: Programme, start: datetime, end: datetime) -> list[tuple[datetime | None, int]]:
    """The timezone's UTC offsets over [start, end): ``[(until, seconds), …, (None, seconds)]``.

    One segment for Asia/Shanghai (no daylight saving since 1991); a zone with daylight saving
    gets one per transition, found to the second (hourly steps, then bisection).
    """
    segments: list[tuple[datetime | None, int]] = []
    current = _offset_at(programme, start)
    probe = start
    while probe < end:
        step = min(probe + timedelta(hours=1), end)
        offset = _offset_at(programme, step)
        if offset != current:
            low, high = probe, step  # offset(low) == current, offset(high) != current
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset_at(programme, middle) == current:
                    low = middle
                else:
                    high = middle
            segments.append((high.replace(microsecond=0), current))
            current = offset
        probe = step
    segments.append((None, current))
    return segments


def _sqlite_modifier(seconds: int) -> str:
    return f"{'+' if seconds >= 0 else '-'}{abs(seconds)} seconds"


def local_day(column, programme: Programme, dialect: str, start: datetime, end: datetime):
    """SQL for the local date of a UTC timestamp ``column`` (rows between ``start`` and ``end``).

    PostgreSQL converts with the timezone database (``AT TIME ZONE``). SQLite has none and stores
    naive UTC text, so the offset is added with ``date(column, '+28800 seconds')``; where the
    zone changes offset inside the range, a CASE picks the offset in force at each instant.
    """
    if dialect == "postgresql":
        return sa.cast(sa.func.timezone(sa.literal(programme.programme.timezone, sa.String), column), sa.Date)
    segments = offset_segments(programme, start, end)
    if len(segments) == 1:
        return sa.func.date(column, _sqlite_modifier(segments[0][1]), type_=sa.String)
    whens = [(column < sa.literal(until, UTCDateTime()), sa.func.date(column, _sqlite_modifier(offset)))
             for until, offset in segments[:-1]]
    return sa.case(*whens, else_=sa.func.date(column, _sqlite_modifier(segments[-1][1])))


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


# --- daily tables ---------------------------------------------------------------------------------

@dataclass
class DailyTable:
    """Counts per local day and series (registration channel, checkpoint kind)."""

    range: DayRange
    series: tuple[str, ...]
    counts: dict[tuple[date, str], int] = field(default_factory=dict)

    def value(self, day: date, key: str) -> int:
        return self.counts.get((day, key), 0)

    def day_total(self, day: date) -> int:
        return sum(self.value(day, key) for key in self.series)

    def series_total(self, key: str) -> int:
        return sum(count for (_day, series), count in self.counts.items() if series == key)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def rows(self) -> Iterator[tuple]:
        """(day, count per series…, total) for every day of the range, empty days included."""
        for day in self.range.days:
            values = [self.value(day, key) for key in self.series]
            yield (day, *values, sum(values))


def _daily(session: Session, programme: Programme, day_range: DayRange, time_column, series_column,
           from_clause, where, series: tuple[str, ...]) -> DailyTable:
    start, end = day_range.bounds(programme)
    inner = (
        sa.select(local_day(time_column, programme, _dialect(session), start, end).label("day"),
                  series_column.label("series"))
        .select_from(from_clause)
        .where(time_column >= start, time_column < end, *where)
        .subquery("bucketed")
    )
    rows = session.execute(
        sa.select(inner.c.day, inner.c.series, sa.func.count()).group_by(inner.c.day, inner.c.series)
    ).all()
    table = DailyTable(day_range, series)
    for day, key, count in rows:
        key = getattr(key, "value", key)
        table.counts[(_as_date(day), str(key))] = table.counts.get((_as_date(day), str(key)), 0) + int(count)
    return table


def registrations_by_day(session: Session, programme: Programme, day_range: DayRange) -> DailyTable:
    """Workers registered per local day: by themselves (``self``) or on an enterprise roster."""
    return _daily(session, programme, day_range, Worker.created_at, Worker.registered_via, Worker, (),
                  REGISTRATION_CHANNELS)


def scans_by_day(session: Session, programme: Programme, day_range: DayRange) -> DailyTable:
    """Accepted staff scans per local day, by checkpoint kind (gate, venue, pickup, training)."""
    return _daily(session, programme, day_range, Scan.scanned_at, Checkpoint.kind,
                  sa.join(Scan, Checkpoint, Checkpoint.id == Scan.checkpoint_id),
                  (Scan.result == ScanResult.ACCEPTED,), SCAN_KINDS)


def count_between(session: Session, column, start: datetime, end: datetime, *where) -> int:
    return session.scalar(sa.select(sa.func.count()).where(column >= start, column < end, *where)) or 0


# --- the snapshot the dashboard reads -------------------------------------------------------------

@dataclass(frozen=True)
class SnapshotChoice:
    """Which snapshot the district and tier figures come from, said honestly on the page."""

    snapshot: Snapshot | None
    stage: str  # "official" (as of the cutoff), "preview" (projection before it), "none"

    @property
    def is_official(self) -> bool:
        return self.stage == "official"


def dashboard_snapshot(session: Session, programme: Programme) -> SnapshotChoice:
    """The official snapshot as of the programme's cutoff when complete; before it, the latest
    complete nightly preview (a projection); else none."""
    complete = sa.select(Snapshot).where(Snapshot.phase == SnapshotPhase.COMPLETE)
    official = session.scalar(complete.where(Snapshot.kind == SnapshotKind.OFFICIAL,
                                             Snapshot.as_of == programme.cutoff))
    if official is not None:
        return SnapshotChoice(official, "official")
    preview = session.scalar(complete.where(Snapshot.kind == SnapshotKind.PREVIEW)
                             .order_by(Snapshot.as_of.desc(), Snapshot.id.desc()).limit(1))
    if preview is not None:
        return SnapshotChoice(preview, "preview")
    return SnapshotChoice(None, "none")


# --- pledged vs confirmed, by district --------------------------------------------------------------

NO_DISTRICT = ""  # workers without an employer


@dataclass
class DistrictRow:
    district: str
    pledged: int
    confirmed: int | None  # None: no snapshot yet

    @property
    def share(self) -> float | None:
        if self.confirmed is None or not self.pledged:
            return None
        return self.confirmed / self.pledged


@dataclass
class DistrictTable:
    choice: SnapshotChoice
    rows: list[DistrictRow]

    @property
    def pledged(self) -> int:
        return sum(row.pledged for row in self.rows)

    @property
    def confirmed(self) -> int | None:
        if self.choice.snapshot is None:
            return None
        return sum(row.confirmed or 0 for row in self.rows)


def district_confirmation(session: Session, choice: SnapshotChoice) -> DistrictTable:
    """Pledged and confirmed (after the cutoff) or on-track (preview) workers per district.

    With a snapshot both figures come from it, so they describe the same instant: a worker
    pledged when their status names any reason but ``not_pledged`` (the first rule checked). The
    district is the one copied into the snapshot's headcount of the worker's enterprise. Without
    a snapshot, the pledges recorded so far (live) and no confirmed figure.
    """
    if choice.snapshot is not None:
        status, headcount = WorkerStatus, EnterpriseHeadcount
        # Statuses (millions) are first counted per enterprise (thousands), along the snapshot's
        # (snapshot_id, enterprise_id) index; only those rows meet the headcounts' districts.
        per_enterprise = (
            sa.select(status.enterprise_id.label("enterprise_id"),
                      sa.func.sum(sa.case((status.reason != "not_pledged", 1), else_=0)).label("pledged"),
                      sa.func.sum(sa.case((status.confirmed == sa.true(), 1), else_=0)).label("confirmed"))
            .where(status.snapshot_id == choice.snapshot.id)
            .group_by(status.enterprise_id)
            .subquery("per_enterprise")
        )
        located = (
            sa.select(sa.func.coalesce(headcount.district, Enterprise.district, NO_DISTRICT).label("district"),
                      per_enterprise.c.pledged, per_enterprise.c.confirmed)
            .select_from(per_enterprise)
            .outerjoin(headcount, sa.and_(headcount.snapshot_id == choice.snapshot.id,
                                          headcount.enterprise_id == per_enterprise.c.enterprise_id))
            .outerjoin(Enterprise, Enterprise.id == per_enterprise.c.enterprise_id)
            .subquery("located")
        )
        rows = session.execute(
            sa.select(located.c.district, sa.func.sum(located.c.pledged), sa.func.sum(located.c.confirmed))
            .group_by(located.c.district)
        ).all()
        result = [DistrictRow(district or NO_DISTRICT, int(pledged or 0), int(confirmed or 0))
                  for district, pledged, confirmed in rows]
    else:
        inner = (
            sa.select(sa.func.coalesce(Enterprise.district, NO_DISTRICT).label("district"))
            .select_from(Worker).outerjoin(Enterprise, Enterprise.id == Worker.enterprise_id)
            .where(Worker.pledged_at.is_not(None))
            .subquery("pledges")
        )
        rows = session.execute(sa.select(inner.c.district, sa.func.count()).group_by(inner.c.district)).all()
        result = [DistrictRow(district or NO_DISTRICT, int(count), None) for district, count in rows]
    # Named districts in code-point order (the same on every database), no employer last.
    result.sort(key=lambda row: (row.district == NO_DISTRICT, row.district))
    return DistrictTable(choice, [row for row in result if row.pledged or row.confirmed])


# --- subsidies by tier ---------------------------------------------------------------------------------

@dataclass
class TierRow:
    tier: int  # the tier's min_retained; 0: no tier
    enterprises: int
    retained: int
    amount_yuan: int


@dataclass
class TierTable:
    choice: SnapshotChoice
    rows: list[TierRow]

    @property
    def amount_yuan(self) -> int:
        return sum(row.amount_yuan for row in self.rows)

    @property
    def qualifying(self) -> int:
        return sum(row.enterprises for row in self.rows if row.tier)


def subsidies_by_tier(session: Session, programme: Programme, choice: SnapshotChoice) -> TierTable:
    """Enterprises, their retained workers and the P7 amount per tier, from the snapshot's
    headcounts (a preview's are projections). Every tier of the programme is listed, highest
    first, then the enterprises without one."""
    if choice.snapshot is None:
        return TierTable(choice, [])
    found = {int(tier): (int(count), int(retained or 0), int(amount or 0)) for tier, count, retained, amount in
             session.execute(
                 sa.select(EnterpriseHeadcount.tier, sa.func.count(), sa.func.sum(EnterpriseHeadcount.retained),
                           sa.func.sum(EnterpriseHeadcount.amount_yuan))
                 .where(EnterpriseHeadcount.snapshot_id == choice.snapshot.id)
                 .group_by(EnterpriseHeadcount.tier))}
    tiers = sorted({*(tier.min_retained for tier in programme.retention_subsidy.tiers), *found} - {0},
                   reverse=True)
    rows = [TierRow(tier, *found.get(tier, (0, 0, 0))) for tier in [*tiers, 0]]
    return TierTable(choice, rows)


# --- welfare packs -------------------------------------------------------------------------------------

@dataclass
class PickupRow:
    code: str
    name: str
    district: str
    handed_out: int
    stock: int

    @property
    def delivered(self) -> int:
        return self.handed_out + self.stock


@dataclass
class WelfareTable:
    rows: list[PickupRow]
    handed_out: int
    stock: int


def welfare_by_point(session: Session) -> WelfareTable:
    """Packs handed out and left per pickup point (the point's own counters, kept by the
    conditional UPDATE of every hand-out), busiest first; totals summed in SQL."""
    rows = [PickupRow(*row) for row in session.execute(
        sa.select(PickupPoint.code, PickupPoint.name, PickupPoint.district, PickupPoint.handed_out, PickupPoint.stock)
        .order_by(PickupPoint.handed_out.desc(), PickupPoint.district, PickupPoint.code))]
    handed_out, stock = session.execute(sa.select(sa.func.coalesce(sa.func.sum(PickupPoint.handed_out), 0),
                                                  sa.func.coalesce(sa.func.sum(PickupPoint.stock), 0))).one()
    return WelfareTable(rows, int(handed_out), int(stock))


# --- data bonus ----------------------------------------------------------------------------------------

@dataclass
class CarrierRow:
    carrier: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def data_bonus_by_carrier(session: Session, programme: Programme) -> list[CarrierRow]:
    """Claims per carrier and status; every carrier of the programme is listed."""
    rows = {code: CarrierRow(code, dict.fromkeys(CLAIM_STATUSES, 0)) for code in programme.data_bonus.carriers}
    for carrier, status, count in session.execute(
            sa.select(DataBonusClaim.carrier, DataBonusClaim.status, sa.func.count())
            .group_by(DataBonusClaim.carrier, DataBonusClaim.status)):
        row = rows.setdefault(carrier, CarrierRow(carrier, dict.fromkeys(CLAIM_STATUSES, 0)))
        row.counts[str(getattr(status, "value", status))] = int(count)
    return list(rows.values())


# --- headline figures ------------------------------------------------------------------------------------

@dataclass
class Headline:
    workers: int
    pledged: int
    scans_today: int
    packs: int
    claims: int


def headline(session: Session, programme: Programme, now: datetime) -> Headline:
    today = programme.local_date(now)
    workers, pledged = session.execute(sa.select(
        sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case((Worker.pledged_at.is_not(None), 1), else_=0)), 0)
    ).select_from(Worker)).one()
    scans_today = count_between(session, Scan.scanned_at, programme.local_day_start(today),
                                programme.local_day_end(today), Scan.result == ScanResult.ACCEPTED)
    packs = session.scalar(sa.select(sa.func.coalesce(sa.func.sum(PickupPoint.handed_out), 0))) or 0
    claims = session.scalar(sa.select(sa.func.count()).select_from(DataBonusClaim)) or 0
    return Headline(int(workers), int(pledged), int(scans_today), int(packs), int(claims))
