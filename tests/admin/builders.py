"""Builders for the officials' desk tests: checkpoints of every kind, scans, pickup points with
their counters, hand-outs and data-bonus claims at chosen instants. Rows are inserted directly:
these tests read figures, and the rooms that write them have their own tests."""

from __future__ import annotations

import itertools
from datetime import datetime

import sqlalchemy as sa

from tests.builders import BUILD_TIME, make_user, unique
from wzcheckin.accounts.models import User, Worker
from wzcheckin.benefits.models import ClaimStatus, DataBonusClaim
from wzcheckin.core.roles import Role
from wzcheckin.scanning.models import Checkpoint, CheckpointKind, Scan, ScanResult
from wzcheckin.welfare.models import PackHandout, PickupPoint

_scan_ids = itertools.count(1)


def make_checkpoint(session, kind: CheckpointKind, *, district: str = "鹿城区") -> Checkpoint:
    code = f"T{unique()}"
    checkpoint = Checkpoint(ref=Checkpoint.make_ref(kind, code), kind=kind, code=code, name=f"{kind.value} {code}",
                            district=district, created_at=BUILD_TIME)
    session.add(checkpoint)
    session.flush()
    return checkpoint


def staff_for(session, vault, checkpoint: Checkpoint) -> User:
    role = {CheckpointKind.GATE: Role.GATEKEEPER, CheckpointKind.PICKUP: Role.PICKUP_STAFF}.get(
        checkpoint.kind, Role.VENUE_STAFF)
    return make_user(session, vault, role, checkpoint=checkpoint)


def add_scan(session, checkpoint: Checkpoint, staff: User, when: datetime, *, worker: Worker | None = None,
             accepted: bool = True) -> None:
    number = next(_scan_ids)
    session.add(Scan(scan_id=f"admin-scan-{number:08d}", checkpoint_id=checkpoint.id, staff_user_id=staff.id,
                     scanned_at=when, received_at=when, worker_id=worker.id if worker else None,
                     result=ScanResult.ACCEPTED if accepted else ScanResult.REJECTED,
                     reason="accepted" if accepted else "invalid_token", is_evidence=accepted))
    session.flush()


def make_point(session, *, name: str, district: str = "鹿城区", handed_out: int = 0, stock: int = 0) -> PickupPoint:
    code = f"P{unique()}"
    checkpoint = Checkpoint(ref=Checkpoint.make_ref(CheckpointKind.PICKUP, code), kind=CheckpointKind.PICKUP,
                            code=code, name=name, district=district, created_at=BUILD_TIME)
    session.add(checkpoint)
    session.flush()
    point = PickupPoint(code=code, name=name, district=district, address="", stock=stock, handed_out=handed_out,
                        checkpoint_id=checkpoint.id, created_at=BUILD_TIME, updated_at=BUILD_TIME)
    session.add(point)
    session.flush()
    return point


def hand_out(session, point: PickupPoint, worker: Worker, staff: User, when: datetime = BUILD_TIME) -> PackHandout:
    handout = PackHandout(worker_id=worker.id, pickup_point_id=point.id, scan_id=f"admin-pack-{unique():08d}",
                          staff_user_id=staff.id, handed_out_at=when)
    session.add(handout)
    session.execute(sa.update(PickupPoint).where(PickupPoint.id == point.id)
                    .values(handed_out=PickupPoint.handed_out + 1, stock=PickupPoint.stock - 1))
    session.flush()
    return handout


def make_claim(session, vault, worker: Worker, *, carrier: str = "china_mobile",
               status: ClaimStatus = ClaimStatus.PENDING, when: datetime = BUILD_TIME) -> DataBonusClaim:
    phone = vault.decrypt(worker.user.phone_encrypted)
    claim = DataBonusClaim(worker_id=worker.id, carrier=carrier, carrier_derived=carrier, gigabytes=10,
                           phone_encrypted=worker.user.phone_encrypted, phone_masked=f"{phone[:3]}****{phone[-4:]}",
                           status=status, reason="号码已停机" if status is ClaimStatus.FAILED else "",
                           claimed_at=when, updated_at=when)
    session.add(claim)
    session.flush()
    return claim
