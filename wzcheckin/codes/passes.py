"""Worker passes (个人通行码): the rotating phone pass and the printed paper pass, and resolving
a scanned pass back to its worker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from wzcheckin.accounts.models import User, Worker
from wzcheckin.codes.errors import CodesRefusal
from wzcheckin.codes.keys import Keyring
from wzcheckin.codes.models import PaperPass
from wzcheckin.codes.tokens import Claims, TokenKind
from wzcheckin.core.public_ids import new_public_id
from wzcheckin.db import HotStatement
from wzcheckin.directory.models import Enterprise
from wzcheckin.programme import Programme

PASS_KINDS = (TokenKind.PASS, TokenKind.PAPER_PASS)


class PassRefused(CodesRefusal):
    """A pass that resolves to no worker: ``invalid_token``, ``revoked`` or ``wrong_kind`` (said
    at the checkpoint through the scan's reasons)."""


@dataclass(frozen=True)
class IssuedPass:
    token: str
    expires_at: datetime
    issued_at: datetime | None = None


def current_pass(worker: Worker, keyring: Keyring, programme: Programme, now: datetime) -> IssuedPass:
    """A fresh rotating pass, valid for the programme's pass TTL from ``now``."""
    expires_at = now + timedelta(seconds=programme.programme.pass_ttl_seconds)
    return IssuedPass(keyring.sign(TokenKind.PASS, worker.public_id, expires_at, issued_at=now), expires_at)


def passes_ahead(worker: Worker, keyring: Keyring, programme: Programme, now: datetime) -> list[IssuedPass]:
    """离线通行码: the rotating passes of the coming ``offline_pass.hours_ahead`` hours, for the
    phone to keep and show in turn without signal. A new pass starts every
    ``rotate_every_seconds`` on a grid of whole periods (so a batch fetched a minute later signs
    the same passes, Ed25519 being deterministic), the first one already running at ``now``; each
    lives ``pass_ttl_seconds``, as the live pass does, so a screenshot is as useless as before.
    Nothing is stored: a pass is checked by its signature and its times, and the worker's account
    (disabled → refused) at the scan."""
    offline = programme.offline_pass
    ttl = timedelta(seconds=programme.programme.pass_ttl_seconds)
    step = offline.rotate_every_seconds
    first = int(now.timestamp()) // step * step
    last = int((now + timedelta(hours=offline.hours_ahead)).timestamp())
    passes = []
    for start in range(first, last + 1, step):
        issued_at = datetime.fromtimestamp(start, now.tzinfo)
        passes.append(IssuedPass(keyring.sign(TokenKind.PASS, worker.public_id, issued_at + ttl, issued_at=issued_at),
                                 issued_at + ttl, issued_at))
    return passes


def issue_paper_pass(session: Session, worker: Worker, keyring: Keyring, programme: Programme,
                     now: datetime, issued_by=None) -> tuple[PaperPass, IssuedPass]:
    """Print a long-lived pass; earlier paper passes of the worker are revoked (one in use)."""
    session.execute(
        sa.update(PaperPass)
        .where(PaperPass.worker_id == worker.id, PaperPass.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    expires_at = now + timedelta(days=programme.programme.paper_pass_valid_days)
    paper = PaperPass(
        public_id=new_public_id(), worker_id=worker.id, issued_at=now, expires_at=expires_at,
        issued_by_user_id=getattr(issued_by, "id", None),
    )
    session.add(paper)
    session.flush()
    return paper, IssuedPass(keyring.sign(TokenKind.PAPER_PASS, paper.public_id, expires_at, issued_at=now),
                             expires_at)


def revoke_paper_passes(session: Session, worker: Worker, now: datetime) -> int:
    result = session.execute(
        sa.update(PaperPass)
        .where(PaperPass.worker_id == worker.id, PaperPass.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount


# Hot path (every scan of a phone pass): the worker with their account and employer; the
# account's staff checkpoint (none, for a worker) is not joined. Built once: constructing the
# loader options per scan cost as much as running the query.
_WORKER_BY_PASS = (sa.select(Worker).where(Worker.public_id == sa.bindparam("public_id"))
                   .options(joinedload(Worker.user).lazyload(User.checkpoint)))


def resolve_pass(session: Session, claims: Claims) -> Worker:
    """The worker a verified pass belongs to; refuses revoked paper passes and disabled accounts."""
    if claims.kind == TokenKind.PASS:
        worker = session.scalar(_WORKER_BY_PASS, {"public_id": claims.subject})
    elif claims.kind == TokenKind.PAPER_PASS:
        paper = session.scalar(sa.select(PaperPass).where(PaperPass.public_id == claims.subject))
        if paper is None:
            raise PassRefused("invalid_token")
        if paper.revoked_at is not None:
            raise PassRefused("revoked")
        worker = paper.worker
    else:
        raise PassRefused("wrong_kind")
    if worker is None:
        raise PassRefused("invalid_token")
    if worker.user.disabled_at is not None:
        raise PassRefused("revoked")
    return worker


@dataclass(frozen=True, slots=True)
class PassHolder:
    """The worker behind a scanned pass as a scan handler that only reads them sees them: one Core
    row, no ORM entity (loading the ``Worker`` with its account and employer was ~12 % of a gate
    scan's CPU). Frozen: nothing written through it."""

    id: int
    name: str
    enterprise_id: int | None
    enterprise_name: str | None
    created_at: datetime


def _holder_statement(by_paper: bool) -> sa.Select:
    workers, users = Worker.__table__, User.__table__
    enterprises = Enterprise.__table__
    papers = PaperPass.__table__
    columns = [workers.c.id, workers.c.name, workers.c.enterprise_id, enterprises.c.name.label("enterprise_name"),
               workers.c.created_at, users.c.disabled_at]
    joined = workers.join(users, users.c.id == workers.c.user_id).outerjoin(
        enterprises, enterprises.c.id == workers.c.enterprise_id)
    if by_paper:
        return (sa.select(*columns, papers.c.revoked_at.label("paper_revoked_at"))
                .select_from(joined.join(papers, papers.c.worker_id == workers.c.id))
                .where(papers.c.public_id == sa.bindparam("public_id")))
    return sa.select(*columns).select_from(joined).where(workers.c.public_id == sa.bindparam("public_id"))


# Built once, on the tables (a Core statement skips the ORM's statement machinery); every gate
# scan sends one, so they run on the driver's cursor (db.HotStatement).
_HOLDER_BY_PASS = HotStatement(_holder_statement(by_paper=False))
_HOLDER_BY_PAPER = HotStatement(_holder_statement(by_paper=True))


def resolve_pass_holder(session: Session, claims: Claims) -> PassHolder:
    """:func:`resolve_pass` as one Core row: the same refusals, in the same order, for handlers
    that only read the worker (id, name, employer, registration time)."""
    connection = session.connection()
    if claims.kind == TokenKind.PASS:
        row = _HOLDER_BY_PASS.first(connection, {"public_id": claims.subject})
    elif claims.kind == TokenKind.PAPER_PASS:
        row = _HOLDER_BY_PAPER.first(connection, {"public_id": claims.subject})
        if row is not None and row.paper_revoked_at is not None:
            raise PassRefused("revoked")
    else:
        raise PassRefused("wrong_kind")
    if row is None:
        raise PassRefused("invalid_token")
    if row.disabled_at is not None:
        raise PassRefused("revoked")
    return PassHolder(row.id, row.name, row.enterprise_id, row.enterprise_name, row.created_at)
