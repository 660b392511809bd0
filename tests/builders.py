"""Builders for test data: each makes one valid object through the domain functions, with
unique identifiers, and returns it. Keyword arguments override the defaults."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

from werkzeug.security import generate_password_hash

from wzcheckin.accounts.lookups import _new_user, find_user_by_phone
from wzcheckin.accounts.models import User, Worker
from wzcheckin.accounts.workers import CleanWorkerDetails, upsert_roster_worker
from wzcheckin.core.identity import credit_check_character, id_check_character
from wzcheckin.core.roles import Role
from wzcheckin.enterprises.models import Enterprise, Ownership
from wzcheckin.enterprises.services import EnterpriseRow, upsert_enterprise
from wzcheckin.scanning.models import Checkpoint

_counter = itertools.count(1)
PASSWORD = "correct-horse-2021"
_password_hash = None
BUILD_TIME = datetime(2021, 1, 20, 2, 0, tzinfo=UTC)


def password_hash() -> str:
    global _password_hash
    if _password_hash is None:
        # A cheap method for the thousands of test accounts: the app checks any werkzeug hash by the
        # method written in it, and accounts made through the app (registration, reset, `user
        # create`) still get scrypt, the default — ~60-400 ms a hash here, paid at every log-in.
        _password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    return _password_hash


def unique() -> int:
    return next(_counter)


def make_id_number(region: str = "510122", born: date = date(1990, 5, 17), sequence: int | None = None) -> str:
    sequence = unique() % 1000 if sequence is None else sequence
    first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
    return first17 + id_check_character(first17)


def make_unique_id_number(region: str = "510122") -> str:
    n = unique()
    born = date(1970 + n % 30, 1 + (n // 30) % 12, 1 + (n // 360) % 28)
    return make_id_number(region, born, n % 1000)


def make_phone(prefix: str = "139") -> str:
    return f"{prefix}{unique():08d}"


def make_credit_code() -> str:
    n = unique()
    org = f"MA{n:07d}"
    first17 = f"91330304{org}"
    return first17 + credit_check_character(first17)


def make_enterprise(session, vault, *, ownership: Ownership = Ownership.PRIVATE, industrial: bool = True,
                    name: str | None = None, district: str = "瓯海区", now: datetime = BUILD_TIME) -> Enterprise:
    row = EnterpriseRow(make_credit_code(), name or f"测试企业{unique()}", district, ownership, industrial, None)
    enterprise, _ = upsert_enterprise(session, vault, row, now)
    return enterprise


def make_worker(session, vault, programme, *, enterprise: Enterprise | None = None, name: str = "测试工人",
                id_number: str | None = None, phone: str | None = None, pledged: bool = True,
                hukou: str = "", permit: str | None = None, permit_expiry: date | None = None,
                activated: bool = True, now: datetime = BUILD_TIME) -> Worker:
    id_number = id_number or make_unique_id_number()
    clean = CleanWorkerDetails(
        name=name, id_number=id_number, id_tail=id_number[-4:], phone=phone or make_phone(),
        enterprise=enterprise, hukou=hukou, residence_permit_no=permit, residence_permit_expiry=permit_expiry,
        pledged=pledged,
    )
    worker, _ = upsert_roster_worker(session, vault, programme, clean, now)
    if enterprise is None:
        worker.employment_confirmed = False
    if activated:
        worker.user.password_hash = password_hash()
    session.flush()
    return worker


def make_user(session, vault, role: Role, *, checkpoint: Checkpoint | None = None, carrier: str | None = None,
              phone: str | None = None, now: datetime = BUILD_TIME) -> User:
    phone = phone or make_phone("137")
    existing = find_user_by_phone(session, vault, phone)
    if existing is not None:
        return existing
    user = _new_user(vault, role, phone, now)
    user.password_hash = password_hash()
    user.checkpoint = checkpoint
    user.carrier = carrier
    session.add(user)
    session.flush()
    return user


def gate_of(session, enterprise: Enterprise) -> Checkpoint:
    from sqlalchemy import select

    return session.scalar(select(Checkpoint).where(Checkpoint.ref == enterprise.gate_ref))
