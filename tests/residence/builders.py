"""Builders for the residence tests: scans, departures, and whole worlds of workers inserted in
bulk (hundreds of workers per test would take too long one by one through the accounts room).

Bulk workers are real rows with everything the cutoff reads; their encrypted ID and phone
numbers are real vault ciphertexts of valid numbers, made once per world.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from tests.builders import BUILD_TIME, gate_of, make_enterprise, make_user
from tests.support.clock import at
from wzcheckin.accounts.facts import record_worker_facts_bulk
from wzcheckin.accounts.models import User, Worker
from wzcheckin.core.roles import Role
from wzcheckin.enterprises.models import Ownership
from wzcheckin.programme import HukouStatus
from wzcheckin.residence.models import Departure
from wzcheckin.scanning.models import Scan, ScanResult

_scan_ids = itertools.count(1)
_people = itertools.count(1)

# One instant inside each 2021 evidence window (local time), for scans that simply count.
IN_WINDOW = ("2021-02-05 09:00", "2021-02-13 09:00", "2021-02-22 09:00")


def add_scan(session, worker_id: int, gate, staff, when: datetime, *, accepted: bool = True) -> None:
    number = next(_scan_ids)
    session.add(Scan(scan_id=f"test-scan-{number:08d}", checkpoint_id=gate.id, staff_user_id=staff.id,
                     scanned_at=when, received_at=when, worker_id=worker_id,
                     result=ScanResult.ACCEPTED if accepted else ScanResult.REJECTED,
                     reason="entry_allowed" if accepted else "fever", is_evidence=accepted))


def add_departure(session, worker, departed_on: date, *, recorded_at: datetime, withdrawn_at: datetime | None = None):
    session.add(Departure(worker_id=worker.id, departed_on=departed_on, note="", recorded_at=recorded_at,
                          recorded_by_user_id=worker.user_id, recorded_by_role="worker", withdrawn_at=withdrawn_at))


@dataclass
class Site:
    """An enterprise with its gate and a gatekeeper: where scans happen."""

    enterprise: object
    gate: object
    staff: object
    worker_ids: list[int] = field(default_factory=list)


def make_site(session, vault, *, ownership: Ownership = Ownership.PRIVATE, industrial: bool = True,
              name: str | None = None, district: str = "瓯海区") -> Site:
    enterprise = make_enterprise(session, vault, ownership=ownership, industrial=industrial, name=name,
                                 district=district)
    gate = gate_of(session, enterprise)
    staff = make_user(session, vault, Role.GATEKEEPER, checkpoint=gate)
    return Site(enterprise, gate, staff)


def bulk_workers(session, vault, site: Site | None, count: int, *, pledged: bool = True, hukou: str = "",
                 hukou_status: HukouStatus = HukouStatus.NON_LOCAL, on_roster: bool = True,
                 permit_expiry: date | None = date(2022, 1, 1),
                 permit: bool = False, windows: tuple[int, ...] = (0, 1, 2), scan_times=IN_WINDOW,
                 created_at: datetime = BUILD_TIME) -> list[int]:
    """``count`` workers of ``site`` (or none), each with one accepted gate scan in each window
    listed in ``windows``; returns their ids."""
    if count <= 0:
        return []
    id_cipher = vault.encrypt("510122199005170011")
    phone_cipher = vault.encrypt("13900000000")
    permit_cipher = vault.encrypt("ZJ330300001") if permit else None
    users, workers = [], []
    first = next(_people)
    numbers = [first, *[next(_people) for _ in range(count - 1)]]
    for n in numbers:
        users.append({"role": Role.WORKER, "phone_hash": f"bulk-phone-{n}", "phone_encrypted": phone_cipher,
                      "phone_masked": f"139****{n % 10000:04d}", "display_name": "", "created_at": created_at,
                      "failed_logins": 0})
    session.execute(sa.insert(User), users)
    user_ids = dict(session.execute(sa.select(User.phone_hash, User.id).where(
        User.phone_hash.in_([u["phone_hash"] for u in users]))).all())
    for n in numbers:
        workers.append({
            "user_id": user_ids[f"bulk-phone-{n}"], "public_id": f"b{n:015x}", "name": f"工人{n}",
            "id_number_hash": f"bulk-id-{n}", "id_number_encrypted": id_cipher, "id_number_tail": f"{n % 10000:04d}",
            "hukou": hukou, "hukou_status": hukou_status, "residence_permit_no_encrypted": permit_cipher,
            "residence_permit_expiry": permit_expiry, "pledged_at": created_at if pledged else None,
            "enterprise_id": site.enterprise.id if site else None, "employment_confirmed": bool(site and on_roster),
            "employment_confirmed_at": created_at if site and on_roster else None, "registered_via": "roster",
            "created_at": created_at, "updated_at": created_at,
        })
    session.execute(sa.insert(Worker), workers)
    ids = list(session.scalars(sa.select(Worker.id).where(
        Worker.id_number_hash.in_([w["id_number_hash"] for w in workers])).order_by(Worker.id)))
    record_worker_facts_bulk(session, sa.select(Worker.id).where(Worker.id.in_(ids)), now=created_at, source="test")
    if site is not None and windows:
        scans = []
        for worker_id in ids:
            for index in windows:
                when = at(scan_times[index]) + timedelta(minutes=worker_id % 50)
                number = next(_scan_ids)
                scans.append({"scan_id": f"test-scan-{number:08d}", "checkpoint_id": site.gate.id,
                              "staff_user_id": site.staff.id, "scanned_at": when, "received_at": when,
                              "worker_id": worker_id, "result": ScanResult.ACCEPTED, "reason": "entry_allowed",
                              "is_evidence": True})
        session.execute(sa.insert(Scan), scans)
    if site is not None:
        site.worker_ids.extend(ids)
    session.flush()
    return ids
