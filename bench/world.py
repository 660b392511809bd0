"""Bench data, built fast: bulk inserts through SQLAlchemy Core with the app's own encryption and
hashing, so the rows are exactly what registration would have written."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from wzcheckin.accounts.api_tokens import issue_api_token
from wzcheckin.accounts.facts import record_worker_facts_bulk
from wzcheckin.accounts.lookups import id_number_hash, phone_hash
from wzcheckin.accounts.models import User, Worker
from wzcheckin.codes.keys import load_keyring
from wzcheckin.codes.tokens import TokenKind
from wzcheckin.core.identity import credit_check_character, id_check_character, mask_phone
from wzcheckin.core.roles import Role
from wzcheckin.enterprises.models import Ownership
from wzcheckin.enterprises.services import EnterpriseRow, upsert_enterprise
from wzcheckin.scanning.models import Checkpoint

BATCH = 2000


@dataclass
class ScanWorld:
    enterprise_ids: list[int] = field(default_factory=list)
    checkpoints: dict[str, int] = field(default_factory=dict)      # ref -> id
    staff_tokens: dict[str, str] = field(default_factory=dict)     # role or ref -> API token
    worker_ids: list[int] = field(default_factory=list)
    public_ids: list[str] = field(default_factory=list)


def credit_code(n: int) -> str:
    first17 = f"91330304MB{n:07d}"
    return first17 + credit_check_character(first17)


def id_number(n: int) -> str:
    """Distinct valid ID numbers for n < 2.1M: date and sequence cycle every 21,000, the region
    code (never 3303: bench workers are non-local) changes with each cycle."""
    region = f"5{(n // 21000) % 100:02d}101"
    first17 = f"{region}{1970 + n % 30}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
    return first17 + id_check_character(first17)


def add_enterprise(session, vault, n: int, now: datetime, *, ownership=Ownership.PRIVATE):
    row = EnterpriseRow(credit_code(n), f"压测企业{n}", ["鹿城区", "龙湾区", "瓯海区", "瑞安市"][n % 4],
                        ownership, True, None)
    enterprise, _ = upsert_enterprise(session, vault, row, now)
    return enterprise


def add_workers(session, vault, count: int, enterprise_ids: list[int], now: datetime, start: int = 0,
                progress=lambda done: None) -> tuple[list[int], list[str]]:
    """``count`` activated-less roster workers spread over the enterprises; returns (ids, public ids)."""
    users, workers = User.__table__, Worker.__table__
    worker_ids, public_ids = [], []
    for offset in range(0, count, BATCH):
        size = min(BATCH, count - offset)
        numbers = range(start + offset, start + offset + size)
        phones = [f"139{n:08d}" for n in numbers]
        user_rows = [{"role": Role.WORKER.value, "phone_hash": phone_hash(vault, p), "phone_encrypted": vault.encrypt(p),
                      "phone_masked": mask_phone(p), "display_name": "", "failed_logins": 0, "created_at": now}
                     for p in phones]
        session.execute(users.insert(), user_rows)
        ids = dict(session.execute(sa.select(users.c.phone_hash, users.c.id).where(
            users.c.phone_hash.in_([row["phone_hash"] for row in user_rows]))).all())
        worker_rows = []
        for n, row in zip(numbers, user_rows, strict=True):
            number = id_number(n)
            public_id = secrets.token_hex(8)
            public_ids.append(public_id)
            worker_rows.append({
                "user_id": ids[row["phone_hash"]], "public_id": public_id, "name": "压测工人",
                "id_number_hash": id_number_hash(vault, number),
                "id_number_encrypted": vault.encrypt(number), "id_number_tail": number[-4:], "hukou": "",
                "hukou_status": "non_local", "pledged_at": now, "enterprise_id": enterprise_ids[n % len(enterprise_ids)],
                "employment_confirmed": True, "employment_confirmed_at": now, "registered_via": "roster",
                "created_at": now, "updated_at": now})
        session.execute(workers.insert(), worker_rows)
        batch_ids = session.scalars(sa.select(workers.c.id).where(
            workers.c.public_id.in_([row["public_id"] for row in worker_rows]))).all()
        worker_ids.extend(batch_ids)
        record_worker_facts_bulk(session, sa.select(workers.c.id).where(workers.c.id.in_(batch_ids)), now=now,
                                 source="bench")
        session.commit()
        progress(offset + size)
    return worker_ids, public_ids


def staff_token(session, vault, role: Role, checkpoint: Checkpoint | None, now: datetime, n: int) -> str:
    from wzcheckin.accounts.lookups import _new_user

    user = _new_user(vault, role, f"137{n:08d}", now)
    user.checkpoint = checkpoint
    session.add(user)
    session.flush()
    return issue_api_token(session, user, now, label="bench")


def pass_tokens(session, vault, public_ids: list[str], lifetime: timedelta = timedelta(minutes=5),
                keyring=None) -> list[str]:
    """Rotating passes issued now, as the pass page shows them: a pass may live at most the
    programme's ``[codes] max_lifetime_seconds.pass`` (5 minutes), so a run signs them afresh
    just before it starts (see ``bench.__main__.PassFile``)."""
    keyring = keyring or load_keyring(session, vault)
    issued = datetime.now(UTC)
    return [keyring.sign(TokenKind.PASS, public_id, issued + lifetime, issued_at=issued) for public_id in public_ids]


def bulk_api_tokens(session, worker_ids: list[int], now: datetime) -> list[str]:
    """One API token per worker (as `wzcheckin token create` would make), in worker order."""
    import hashlib

    from wzcheckin.accounts.api_tokens import TOKEN_PREFIX
    from wzcheckin.accounts.models import ApiToken

    user_ids = dict(session.execute(sa.select(Worker.id, Worker.user_id).where(Worker.id.in_(worker_ids))).all())
    tokens, rows = [], []
    for worker_id in worker_ids:
        plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
        tokens.append(plaintext)
        rows.append({"token_hash": hashlib.sha256(plaintext.encode()).hexdigest(), "user_id": user_ids[worker_id],
                     "label": "bench", "created_at": now, "expires_at": now + timedelta(days=90)})
    for offset in range(0, len(rows), BATCH):
        session.execute(ApiToken.__table__.insert(), rows[offset:offset + BATCH])
    session.commit()
    return tokens
