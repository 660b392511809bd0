"""Welfare room, domain functions: importing pickup points, handing out a pack (P3: one per
worker, ever, while stock lasts), staff confirming the hand-over, and who collected when/where.

Invariants and what protects each:

* **one pack per worker, across all points, ever** — a fast pre-check gives the usual answer;
  under a race the UNIQUE constraint on ``pack_handouts.worker_id`` decides. The insert runs in
  a savepoint, so the loser's savepoint (and its stock decrement) rolls back and it answers
  ``already_collected`` instead of failing with a 500.
* **stock never goes below zero** — a conditional ``UPDATE ... SET stock = stock - 1 WHERE
  stock > 0`` in the same transaction as the hand-out (PostgreSQL: the row lock makes a
  concurrent updater wait and re-check ``stock > 0``; SQLite: the write transaction began with
  ``BEGIN IMMEDIATE``). A CHECK (stock >= 0) is the last line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from wzcheckin.accounts.models import User, Worker
from wzcheckin.accounts.workers import retained_worker_problem
from wzcheckin.core.csv_import import ImportReport, import_rows
from wzcheckin.core.identity import mask_name
from wzcheckin.core.refusals import Refusal
from wzcheckin.db import is_unique_violation
from wzcheckin.directory.checkpoints import ensure_checkpoint
from wzcheckin.directory.models import Checkpoint, CheckpointKind, Enterprise
from wzcheckin.scanning.messages import REASON_MESSAGES, reason_message
from wzcheckin.welfare.models import PackHandout, PickupPoint

PICKUP_POINT_COLUMNS = ("code", "name", "district", "address", "stock")
CODE_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
MAX_STOCK = 1_000_000


class PackRefused(Refusal):
    """Why no pack is handed out (``not_eligible``, ``already_collected``, ``out_of_stock``), with
    the values its message needs; said at the pickup point through the scan's reasons."""

    messages = REASON_MESSAGES

    @property
    def message(self) -> str:
        return reason_message(self.code, self.params)


# --- pickup points ------------------------------------------------------------------------------

@dataclass
class PickupPointRow:
    code: str
    name: str
    district: str
    address: str
    stock: int


def parse_pickup_point_row(row: dict[str, str]) -> PickupPointRow:
    """Raise ValueError with a readable reason for the first bad field."""
    import re

    code = row["code"]
    if not code:
        raise ValueError("code: required")
    if not re.match(CODE_PATTERN, code):
        raise ValueError("code: letters, digits, _ and - only (at most 64)")
    name = row["name"]
    if not name:
        raise ValueError("name: required")
    if len(name) > 200:
        raise ValueError("name: longer than 200 characters")
    district = row["district"]
    if not district:
        raise ValueError("district: required")
    if len(district) > 50:
        raise ValueError("district: longer than 50 characters")
    address = row["address"]
    if len(address) > 300:
        raise ValueError("address: longer than 300 characters")
    raw_stock = row["stock"]
    if not raw_stock.isdigit():
        raise ValueError(f"stock: a whole number of packs, 0 or more (got {raw_stock!r})")
    stock = int(raw_stock)
    if stock > MAX_STOCK:
        raise ValueError(f"stock: at most {MAX_STOCK}")
    return PickupPointRow(code, name, district, address, stock)


def upsert_pickup_point(session: Session, data: PickupPointRow, now: datetime) -> tuple[PickupPoint, bool]:
    """Create or update a point and its checkpoint ``pickup:<code>``. ``data.stock`` is the
    number delivered: what is left becomes delivered minus what was already handed out."""
    checkpoint = ensure_checkpoint(session, CheckpointKind.PICKUP, data.code, name=data.name, district=data.district,
                                   now=now)
    point = session.scalar(sa.select(PickupPoint).where(PickupPoint.code == data.code))
    created = point is None
    if point is None:
        point = PickupPoint(code=data.code, checkpoint_id=checkpoint.id, stock=data.stock, handed_out=0,
                            created_at=now)
        session.add(point)
    point.name = data.name
    point.district = data.district
    point.address = data.address
    point.updated_at = now
    session.flush()
    if not created:
        # One statement, so a hand-out committing meanwhile is counted (conditional UPDATE).
        result = session.execute(
            sa.update(PickupPoint)
            .where(PickupPoint.id == point.id, PickupPoint.handed_out <= data.stock)
            .values(stock=data.stock - PickupPoint.handed_out)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            session.refresh(point)
            raise ValueError(f"stock: {data.stock} is below the {point.handed_out} packs already handed out")
        session.refresh(point)
    return point, created


def import_pickup_points(session: Session, text: str, now: datetime, progress=None) -> ImportReport:
    """All or nothing: parse every line first; write only when none is bad."""

    def upsert(data: PickupPointRow) -> bool:
        with session.begin_nested():  # a refused stock change takes only its own line back
            return upsert_pickup_point(session, data, now)[1]

    return import_rows(text, PICKUP_POINT_COLUMNS, parse_pickup_point_row, upsert,
                       unique=[("code", lambda data: data.code)], progress=progress)


def point_for_checkpoint(session: Session, checkpoint: Checkpoint) -> PickupPoint | None:
    return session.scalar(sa.select(PickupPoint).where(PickupPoint.checkpoint_id == checkpoint.id))


def scanner_context(session: Session, checkpoint: Checkpoint) -> dict:
    """The scanner page of a pickup point shows its packs left (``Room(scanner_context=...)``)."""
    if checkpoint.kind is not CheckpointKind.PICKUP:
        return {}
    return {"pickup_point": point_for_checkpoint(session, checkpoint)}


# --- hand-outs ------------------------------------------------------------------------------

def handout_for_worker(session: Session, worker_id: int) -> PackHandout | None:
    return session.scalar(sa.select(PackHandout).where(PackHandout.worker_id == worker_id))


def _already_collected(handout: PackHandout) -> PackRefused:
    return PackRefused("already_collected", when_at=handout.handed_out_at.isoformat(),
                       where=handout.pickup_point.name)


def hand_out_pack(session: Session, *, point: PickupPoint, worker: Worker, staff: User, scan_id: str,
                  at: datetime) -> PackHandout:
    """Give ``worker`` their one pack at ``point``, or raise :class:`PackRefused`
    (``not_eligible``, ``already_collected``, ``out_of_stock``). Flushes; never commits."""
    problem = retained_worker_problem(worker)  # P3 is for retained workers from outside Wenzhou
    if problem is not None:
        raise PackRefused("not_eligible", why=problem)
    try:
        with session.begin_nested():
            # Stock: conditional UPDATE; no row back means none left (or a racer took the last).
            # RETURNING hands the new figures to the loaded point without a second SELECT.
            taken = session.execute(
                sa.update(PickupPoint)
                .where(PickupPoint.id == point.id, PickupPoint.stock > 0)
                .values(stock=PickupPoint.stock - 1, handed_out=PickupPoint.handed_out + 1,
                        updated_at=at)
                .returning(PickupPoint.stock, PickupPoint.handed_out)
                .execution_options(synchronize_session=False)
            ).one_or_none()
            if taken is None:
                raise PackRefused("out_of_stock")
            handout = PackHandout(worker_id=worker.id, pickup_point_id=point.id, scan_id=scan_id,
                                  staff_user_id=staff.id, handed_out_at=at)
            session.add(handout)
            # One per worker: a second visit, or a concurrent twin at any point, fails here on
            # UNIQUE(worker_id), and the savepoint takes its stock decrement back with it. (No
            # look-up first: nearly every scan here is a first visit.)
            session.flush()
    except sa.exc.IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        winner = handout_for_worker(session, worker.id)
        if winner is None:
            raise
        raise _already_collected(winner) from None
    except PackRefused:
        # Out of stock, but the worker may already have their pack (from another point): say so.
        existing = handout_for_worker(session, worker.id)
        if existing is not None:
            raise _already_collected(existing) from None
        raise
    for name, value in zip(("stock", "handed_out"), taken, strict=True):
        set_committed_value(point, name, value)
    return handout


class HandoutNotFound(LookupError):
    pass


def confirm_handout(session: Session, *, scan_id: str, staff: User, now: datetime) -> PackHandout:
    """Staff confirm on screen that the pack was handed over. Only at their own point; confirming
    twice keeps the first confirmation."""
    handout = session.scalar(
        sa.select(PackHandout).join(PickupPoint, PackHandout.pickup_point_id == PickupPoint.id)
        .where(PackHandout.scan_id == scan_id, PickupPoint.checkpoint_id == staff.checkpoint_id)
    )
    if handout is None:
        raise HandoutNotFound(scan_id)
    if handout.confirmed_at is None:
        handout.confirmed_at = now
        handout.confirmed_by_user_id = staff.id
        session.flush()
    return handout


# --- reading ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Collection:
    """Who collected a pack, when and where (masked name only)."""

    worker_id: int
    name: str
    id_tail: str
    enterprise: str | None
    handed_out_at: datetime
    point_code: str
    point_name: str
    district: str
    confirmed: bool


def collections(session: Session, *, point_id: int | None = None, district: str | None = None,
                since: datetime | None = None, limit: int | None = 500) -> list[Collection]:
    """Hand-outs, newest first, optionally for one point, one district or since an instant."""
    query = (
        sa.select(PackHandout, Worker, PickupPoint, Enterprise.name)
        .join(Worker, PackHandout.worker_id == Worker.id)
        .join(PickupPoint, PackHandout.pickup_point_id == PickupPoint.id)
        .outerjoin(Enterprise, Worker.enterprise_id == Enterprise.id)
        .order_by(PackHandout.handed_out_at.desc(), PackHandout.id.desc())
    )
    if point_id is not None:
        query = query.where(PackHandout.pickup_point_id == point_id)
    if district is not None:
        query = query.where(PickupPoint.district == district)
    if since is not None:
        query = query.where(PackHandout.handed_out_at >= since)
    if limit is not None:
        query = query.limit(limit)

    return [
        Collection(worker.id, mask_name(worker.name), worker.id_number_tail, enterprise_name,
                   handout.handed_out_at, point.code, point.name, point.district, handout.confirmed_at is not None)
        for handout, worker, point, enterprise_name in session.execute(query).all()
    ]


def points_with_stock(session: Session, limit: int = 5) -> list[PickupPoint]:
    return list(session.scalars(
        sa.select(PickupPoint).where(PickupPoint.stock > 0).order_by(PickupPoint.district, PickupPoint.name)
        .limit(limit)
    ))
