"""Scanning room: the monthly partitions of ``scans`` on PostgreSQL (issue 17 item 4).

30M scans a season in one table make every index and every vacuum city-sized; by month, the
cutoff and the risk signals read the few months of the programme, and a month past the retention
horizon goes as a whole. migration 0011 turns ``scans`` into a table partitioned by range of
``scanned_at`` with a month per partition (``scans_y2021m02``: [2021-02-01, 2021-03-01) UTC) and a
default partition that catches any scan outside them, so an insert never fails for want of a
month. The scheduler creates the months ahead (:func:`ensure_scan_partitions`); SQLite keeps one
plain table and this module does nothing there.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

# Months created ahead of the current one: the job runs daily, so a missed week changes nothing.
# (Storage layout, not a programme figure: it decides no one's money or rights.)
MONTHS_AHEAD = 3
DEFAULT_PARTITION = "scans_default"
_PARTITION = re.compile(r"^scans_(default|y\d{4}m\d{2})$")


def is_partition(table_name: str) -> bool:
    """A partition of ``scans`` (not part of the models: Alembic's comparison skips them)."""
    return bool(_PARTITION.match(table_name))


def include_in_autogenerate(name, type_, _parent_names) -> bool:
    """Alembic's ``include_name``: the partitions of ``scans`` are made by migration 0011 and the
    scheduler, never by the models, so autogenerate and the models check leave them out."""
    return not (type_ == "table" and name is not None and is_partition(name))


def month_start(instant: datetime) -> datetime:
    instant = instant.astimezone(UTC)
    return datetime(instant.year, instant.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def partition_name(start: datetime) -> str:
    return f"scans_y{start.year:04d}m{start.month:02d}"


def existing_partitions(session: Session) -> set[str]:
    return set(session.execute(sa.text(
        "SELECT child.relname FROM pg_inherits JOIN pg_class parent ON parent.oid = pg_inherits.inhparent "
        "JOIN pg_class child ON child.oid = pg_inherits.inhrelid WHERE parent.relname = 'scans'")).scalars())


def is_partitioned(session: Session) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return False
    return session.execute(sa.text(
        "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
        "WHERE c.relname = 'scans')")).scalar()


def create_month(session: Session, start: datetime) -> str:
    """Create the partition of the month starting at ``start`` (UTC). Rows of that month already
    in the default partition move into it, in the same transaction: the default is detached
    while they move (PostgreSQL refuses a new partition whose rows sit in the default)."""
    name, end = partition_name(start), next_month(start)
    bounds = {"start": start, "end": end}
    # Names are ours (a constant and partition_name's digits), never input: DDL takes no parameters.
    stray = session.execute(sa.text(
        f"SELECT EXISTS (SELECT 1 FROM {DEFAULT_PARTITION} WHERE scanned_at >= :start AND scanned_at < :end)"),  # noqa: S608
        bounds).scalar()
    if stray:
        session.execute(sa.text(f"ALTER TABLE scans DETACH PARTITION {DEFAULT_PARTITION}"))
    literal = "'{:%Y-%m-%d %H:%M:%S}+00'"
    session.execute(sa.text(
        f"CREATE TABLE {name} PARTITION OF scans FOR VALUES FROM ({literal.format(start)}) TO ({literal.format(end)})"))
    if stray:
        move = (f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE scanned_at >= :start "  # noqa: S608 - our names
                f"AND scanned_at < :end RETURNING *) INSERT INTO {name} SELECT * FROM moved")
        session.execute(sa.text(move), bounds)
        session.execute(sa.text(f"ALTER TABLE scans ATTACH PARTITION {DEFAULT_PARTITION} DEFAULT"))
    return name


def ensure_scan_partitions(session: Session, now: datetime, months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """The job: this month's partition and the next ``months_ahead`` months', created when
    missing; returns the names created. Idempotent; a no-op on SQLite. Two runs at once cannot
    both create a month: the first takes the table's lock and the second then finds it made
    (the caller's transaction serialises on ``LOCK TABLE scans``)."""
    if not is_partitioned(session):
        return []
    # A self-conflicting table lock held for the few milliseconds of the DDL: a concurrent run
    # queues here, then sees the months this one made.
    session.execute(sa.text("LOCK TABLE scans IN SHARE ROW EXCLUSIVE MODE"))
    have = existing_partitions(session)
    created = []
    start = month_start(now)
    for _ in range(months_ahead + 1):
        if partition_name(start) not in have:
            created.append(create_month(session, start))
        start = next_month(start)
    return created
