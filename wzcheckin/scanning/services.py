"""Scanning room, domain functions: recording a staff scan.

``record_scan`` is the one path every staff scan takes, whatever the checkpoint:

1. a ``scan_id`` seen before returns the first answer and records nothing (idempotent upload):
   the scan id is claimed (``scan_claims``, ``INSERT … ON CONFLICT DO NOTHING RETURNING``: the
   check and the claim in one statement; a concurrent twin waits on the UNIQUE entry and then
   finds the first answer). It is claimed first, before a handler changes anything — or, for a
   handler that only reads (:func:`reads_only`), with the scan itself at step 5 (on PostgreSQL
   in the scan's own ``INSERT``: one round trip fewer), so that a replay is judged again but
   writes nothing;
2. the claimed scan time must lie within the programme's offline window and not in the future —
   a scan "in the future" is judged by the server's clock, which may be the one that is wrong,
   so that refusal is answered but never stored: a replay of the same ``scan_id`` is judged anew;
3. the token's signature and expiry are judged at the scan time, and the scan time must lie
   within the code's validity (from its issue time, less the allowed clock skew for codes shown on
   a phone, to its expiry): one code cannot be stamped into another evidence window;
4. the checkpoint kind's handler decides what the scan means (gate entry, venue redemption,
   welfare-pack pickup, training attendance) and makes its change in the same transaction;
5. the scan is recorded, accepted or refused, with the answer given — that row is the evidence —
   and then whatever a read-only handler asked to have written with it (``then``).

Handlers live in their own rooms and register with :func:`handles`. They raise
:class:`ScanRefused` to refuse; they never commit.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, lazyload, make_transient_to_detached

from wzcheckin.accounts.models import User, Worker
from wzcheckin.codes.keys import Keyring
from wzcheckin.codes.passes import PASS_KINDS, PassHolder, PassRefused, resolve_pass, resolve_pass_holder
from wzcheckin.codes.tokens import Claims, TokenError, TokenKind
from wzcheckin.core.identity import mask_name
from wzcheckin.core.refusals import Refusal
from wzcheckin.db import HotStatement, transaction_for_writes
from wzcheckin.programme import Programme
from wzcheckin.scanning.messages import INPUT_MESSAGES, REASON_MESSAGES, reason_message
from wzcheckin.scanning.models import Checkpoint, CheckpointKind, Scan, ScanClaim, ScanResult

if TYPE_CHECKING:
    from wzcheckin.core.room import Room

SCAN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:\-]{8,64}$")


class ScanInputError(Refusal):
    """The request itself is malformed (not a refusal of the code): a 422 with this code."""

    messages = INPUT_MESSAGES
    status = 422


class ScanIdConflict(Exception):
    """The scan_id was already used by another staff account."""


# Refusals that depend on the server's own clock: answered, never stored as the answer to replay.
NOT_FINAL_REASONS = frozenset({"scan_in_future"})


class ScanRefused(Refusal):
    """A handler's refusal: ``code`` (the scan's ``reason``) is stable; ``params`` are stored as
    the scan's ``details`` and fill the message, so a replayed answer speaks the replaying
    caller's language. The API answers it 200 with ``"result": "rejected"``."""

    messages = REASON_MESSAGES
    status = 200

    def __init__(self, reason: str, *, worker: Worker | PassHolder | None = None, subject: dict | None = None,
                 details: dict | None = None, then: Callable[[Session], object] | None = None):
        super().__init__(reason, **(details or {}))
        self.worker = worker
        self.subject = subject
        self.then = then  # see Outcome.then

    @property
    def details(self) -> dict | None:
        return self.params or None

    @property
    def message(self) -> str:
        return reason_message(self.code, self.params)


@dataclass(frozen=True)
class ScanInput:
    token: str
    scan_id: str | None = None
    scanned_at: datetime | None = None
    mask: bool | None = None
    temperature: Decimal | None = None
    device: str | None = None
    symptoms: bool = False


@dataclass
class ScanContext:
    """Everything a checkpoint handler may look at."""

    session: Session
    programme: Programme
    checkpoint: Checkpoint
    staff: User
    claims: Claims
    scanned_at: datetime
    received_at: datetime
    data: ScanInput
    # The scan's idempotency key (generated when the device sent none), so a handler can tie
    # what it writes (a pack hand-out, a health alert) to the scan that caused it.
    scan_id: str = ""


@dataclass
class Outcome:
    reason: str
    worker: Worker | PassHolder | None = None
    subject: dict | None = None
    details: dict | None = None
    # Accepted staff scans prove presence unless a handler says otherwise.
    is_evidence: bool = True
    # What a read-only handler needs written once its scan is stored (a health alert), in the
    # same transaction; never for a replay.
    then: Callable[[Session], object] | None = None


Handler = Callable[[ScanContext], Outcome]
HANDLERS: dict[CheckpointKind, Handler] = {}


def reads_only(handler: Handler) -> Handler:
    """Mark a scan handler that writes nothing itself — what it needs written it returns as
    ``then`` — so its scan is claimed with the scan's own INSERT, after the judgement (step 1)."""
    handler.reads_only = True
    return handler


def install_scan_handlers(rooms: Sequence[Room]) -> None:
    """The handler of each checkpoint kind, from the rooms' ``Room(scan_handlers=...)`` (create_app).
    Two rooms claiming one kind is a mistake caught at start-up."""
    for room in rooms:
        for kind, handler in room.scan_handlers.items():
            if HANDLERS.setdefault(kind, handler) is not handler:
                raise RuntimeError(f"room {room.name}: checkpoint kind {kind} has a scan handler already")


_Subject = TypeVar("_Subject", Worker, PassHolder)


def worker_subject(worker: Worker | PassHolder) -> dict:
    """What a scanner may show about a worker: the masked name and employer, nothing more."""
    if isinstance(worker, PassHolder):
        enterprise = worker.enterprise_name
    else:
        enterprise = worker.enterprise.name if worker.enterprise else None
    return {"type": "worker", "name": mask_name(worker.name), "enterprise": enterprise}


def admit_subject(ctx: ScanContext, worker: _Subject, subject: dict | None = None) -> _Subject:
    """A scan dated before the worker was registered (or entered on a roster) proves nothing:
    every handler calls this as soon as it knows whose code it is, before changing anything."""
    if ctx.scanned_at < worker.created_at:
        raise ScanRefused("before_registration", worker=worker, subject=subject)
    return worker


def _admitted_pass(ctx: ScanContext, resolve):
    """The checks every pass scan makes, in order: a pass kind, a pass on file (``resolve``'s
    refusals as scan refusals), a scan not before the worker's registration."""
    if ctx.claims.kind not in PASS_KINDS:
        raise ScanRefused("wrong_kind", details={"kind": ctx.claims.kind.label})
    try:
        worker = resolve(ctx.session, ctx.claims)
    except PassRefused as exc:
        raise ScanRefused(exc.code) from None
    return admit_subject(ctx, worker)


def resolve_worker_pass(ctx: ScanContext) -> Worker:
    """For handlers that take a worker's pass (phone or paper): the worker, or a refusal."""
    return _admitted_pass(ctx, resolve_pass)


def resolve_pass_holder_of(ctx: ScanContext) -> PassHolder:
    """:func:`resolve_worker_pass` for handlers that only read the worker: the same checks and
    refusals, the worker as one Core row (:class:`~wzcheckin.codes.passes.PassHolder`)."""
    return _admitted_pass(ctx, resolve_pass_holder)


def code_valid_from(claims: Claims, programme: Programme) -> datetime:
    """The earliest scan time a code can prove anything at: its issue time, less the allowed
    clock skew for codes shown on a phone (a device clock a little behind the server's). A paper
    pass is printed by the server: nothing before its issue time."""
    if claims.kind is TokenKind.PAPER_PASS:
        return claims.issued_at
    return claims.issued_at - timedelta(seconds=programme.programme.scan_clock_skew_seconds)


_CLAIMS = ScanClaim.__table__
_CLAIM_VALUES = {"scan_id": sa.bindparam("scan_id"), "staff_user_id": sa.bindparam("staff_user_id"),
                 "scanned_at": sa.bindparam("scanned_at", type_=_CLAIMS.c.scanned_at.type)}
# Per dialect, built once: ON CONFLICT is spelt alike on both, but each dialect has its own insert().
# On the table, not the mapped class: a Core statement run on the session's connection skips the
# ORM's statement machinery (about a third of the statement's cost on the hot path).
_CLAIM_STATEMENTS = {
    name: dialect_insert(_CLAIMS).values(_CLAIM_VALUES).on_conflict_do_nothing(index_elements=["scan_id"])
    .returning(_CLAIMS.c.scan_id)
    for name, dialect_insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
# Every scan sends its claim: on the driver's cursor (db.HotStatement).
_CLAIM = {name: HotStatement(statement) for name, statement in _CLAIM_STATEMENTS.items()}


def claim_scan_id(session: Session, scan_id: str, staff_id: int, scanned_at: datetime) -> bool:
    """Claim ``scan_id`` for a scan about to be recorded: True when it is ours, False when it was
    claimed before (a replay). The UNIQUE key of ``scan_claims`` decides, in one statement; a
    concurrent claimant waits for the first to commit or roll back."""
    connection = session.connection()
    return _CLAIM[connection.dialect.name].first(connection, {
        "scan_id": scan_id, "staff_user_id": staff_id, "scanned_at": scanned_at}) is not None


_SCANS = Scan.__table__
# Every column but the key, each its own parameter: one SQL text for every scan (both inserts).
_SCAN_PARAMETERS = {c.key: sa.bindparam(c.key, type_=c.type) for c in _SCANS.c if c.key != "id"}
_INSERT_SCAN = HotStatement(sa.insert(_SCANS).values(_SCAN_PARAMETERS).returning(_SCANS.c.id))


@dataclass(frozen=True, slots=True)
class ScanFacts:
    """What the answer to a scan is made of (``scanning.api.scan_answer``): a recorded scan's own
    values, before (or without) any ORM ``Scan`` for it — building and attaching that object
    cost the hot path more than the INSERT itself."""

    scan_id: str
    result: ScanResult
    reason: str
    details: dict | None
    subject: dict | None
    scanned_at: datetime


def store_scan(session: Session, values: dict) -> int:
    """Write a new scan with one Core ``INSERT … RETURNING id`` on the session's connection (no
    unit-of-work flush); its id."""
    return _INSERT_SCAN.scalar(session.connection(), values)


def _claimed_scan_insert() -> sa.Insert:
    """PostgreSQL: the claim and the scan in one statement — the scan's row is selected from the
    claim's RETURNING, so it is written only when the claim is: ``WITH claim AS (INSERT INTO
    scan_claims … ON CONFLICT DO NOTHING RETURNING scan_id) INSERT INTO scans … SELECT … FROM claim``."""
    claim = _CLAIM_STATEMENTS["postgresql"].cte("claim")
    values = sa.select(*_SCAN_PARAMETERS.values()).select_from(claim)
    return sa.insert(_SCANS).from_select(list(_SCAN_PARAMETERS), values).returning(_SCANS.c.id)


_INSERT_CLAIMED_SCAN = HotStatement(_claimed_scan_insert())


def store_claimed_scan(session: Session, values: dict) -> int | None:
    """Claim the scan's ``scan_id`` and write the scan; its id, or None when the id was claimed
    before (nothing written). PostgreSQL: one statement; SQLite (one writer at a time, no
    round trips): the claim, then the scan."""
    # The claim's parameters (scan_id, staff_user_id, scanned_at) are the scan's own values.
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return _INSERT_CLAIMED_SCAN.scalar(connection, values)
    if _CLAIM[connection.dialect.name].first(connection, values) is None:
        return None
    return _INSERT_SCAN.scalar(connection, values)


def find_scan(session: Session, scan_id: str) -> Scan | None:
    # Through its claim: the claim's ``scanned_at`` lets PostgreSQL read one month's partition.
    # A Core query for the key first; the row is loaded only when there is one. Its checkpoint
    # is the caller's own, already loaded.
    scans, claims = Scan.__table__, ScanClaim.__table__
    claimed_at = sa.select(claims.c.scanned_at).where(claims.c.scan_id == scan_id).scalar_subquery()
    scan_pk = session.execute(sa.select(scans.c.id).where(scans.c.scan_id == scan_id,
                                                          scans.c.scanned_at == claimed_at)).scalar()
    if scan_pk is None:
        return None
    return session.get(Scan, scan_pk, options=[lazyload(Scan.checkpoint)])


def new_scan_id() -> str:
    return uuid.uuid4().hex


def validate_scan_id(scan_id: str | None) -> str:
    if scan_id is None:
        return new_scan_id()
    if not isinstance(scan_id, str) or not SCAN_ID_PATTERN.match(scan_id):
        raise ScanInputError("invalid_scan_id", "scan_id")
    return scan_id


class RecordedScan:
    """What :func:`record_scan` did: ``facts`` to answer with; ``scan`` the ORM row, built on first
    use (the API answers from ``facts`` alone and never builds it): a new stored scan becomes
    persistent in the session as if it had been loaded. ``final`` False: a refusal by the
    server's clock, not stored (no id); send it again later."""

    __slots__ = ("_scan", "_session", "_values", "facts", "final", "replayed")

    def __init__(self, scan: Scan | None = None, *, replayed: bool = False, final: bool = True,
                 values: dict | None = None, session: Session | None = None):
        self.replayed, self.final = replayed, final
        self._scan, self._values, self._session = scan, values, session
        if scan is not None:
            self.facts = ScanFacts(scan.scan_id, scan.result, scan.reason, scan.details, scan.subject,
                                   scan.scanned_at)
        else:
            self.facts = ScanFacts(values["scan_id"], values["result"], values["reason"], values["details"],
                                   values["subject"], values["scanned_at"])

    @property
    def scan(self) -> Scan:
        if self._scan is None:
            scan = Scan(**self._values)
            if scan.id is not None:  # stored: the session's, as if loaded (nothing left to flush)
                make_transient_to_detached(scan)
                self._session.add(scan)
            self._scan = scan
        return self._scan


@dataclass(frozen=True, slots=True)
class CodeJudgement:
    """What the claimed scan time and the code say on their own (steps 2 and 3 above): no
    database, so the API judges a code before its write transaction — the signature check is the
    costliest step of a scan, and on SQLite every writer waits while a transaction holds the lock.
    A refusal (``refused``, ``details``) is applied by :func:`record_scan` after the replay check,
    as if judged there. (Its code, not the exception: a kept exception keeps its frames alive.)"""

    scan_id: str
    scanned_at: datetime
    claims: Claims | None
    token_kind: str | None
    refused: str | None = None
    details: dict | None = None


def judge_code(data: ScanInput, keyring: Keyring, programme: Programme, now: datetime) -> CodeJudgement:
    scan_id = validate_scan_id(data.scan_id)
    scanned_at = data.scanned_at or now
    settings = programme.programme
    claims = token_kind = None
    try:
        if scanned_at < now - timedelta(hours=settings.offline_scan_max_age_hours):
            raise ScanRefused("scan_too_old", details={"max_age_hours": settings.offline_scan_max_age_hours})
        if scanned_at > now + timedelta(seconds=settings.scan_clock_skew_seconds):
            raise ScanRefused("scan_in_future")
        try:
            claims = keyring.verify(data.token, scanned_at)
        except TokenError as exc:
            # An unknown key id is as good as a forgery to the person at the gate.
            raise ScanRefused("invalid_token" if exc.reason == "unknown_key" else exc.reason) from None
        token_kind = claims.kind.label
        if scanned_at < code_valid_from(claims, programme):
            raise ScanRefused("scanned_at_outside_code")
    except ScanRefused as refusal:
        return CodeJudgement(scan_id, scanned_at, None, token_kind, refusal.code, refusal.details)
    return CodeJudgement(scan_id, scanned_at, claims, token_kind)


def record_scan(session: Session, *, staff: User, checkpoint: Checkpoint, data: ScanInput,
                keyring: Keyring, programme: Programme, now: datetime,
                judged: CodeJudgement | None = None) -> RecordedScan:
    """Record one staff scan (the module's steps 1–5). ``judged``: :func:`judge_code`'s answer
    for the same ``data`` and ``now``, when the caller judged the code before the transaction."""
    if judged is None:
        judged = judge_code(data, keyring, programme, now)
    scan_id, scanned_at = judged.scan_id, judged.scanned_at
    newest = now + timedelta(seconds=programme.programme.scan_clock_skew_seconds)
    handler = HANDLERS.get(checkpoint.kind)
    in_future = scanned_at > newest
    claim_with_scan = getattr(handler, "reads_only", False) and not in_future
    if not claim_with_scan:
        if not in_future:
            transaction_for_writes(session)  # the claim, the handler's changes and the scan commit together
        # A scan "in the future" is answered but never stored, so it claims nothing: only look.
        if in_future or not claim_scan_id(session, scan_id, staff.id, scanned_at):
            replayed = _replayed(session, scan_id, staff, claimed_before=not in_future)
            if replayed is not None:
                return replayed

    worker: Worker | PassHolder | None = None
    subject = details = then = None
    token_kind = judged.token_kind
    is_evidence = False
    try:
        if judged.refused is not None:
            raise ScanRefused(judged.refused, details=judged.details)
        claims = judged.claims
        if handler is None:
            raise ScanRefused("checkpoint_unavailable")
        outcome = handler(ScanContext(session, programme, checkpoint, staff, claims, scanned_at, now, data,
                                       scan_id=scan_id))
        result, reason = ScanResult.ACCEPTED, outcome.reason
        worker, subject, details, is_evidence = outcome.worker, outcome.subject, outcome.details, outcome.is_evidence
        then = outcome.then
    except ScanRefused as refusal:
        result, reason = ScanResult.REJECTED, refusal.code
        worker, details, then = refusal.worker, refusal.details, refusal.then
        subject = refusal.subject or (worker_subject(worker) if worker is not None else None)

    late = now - scanned_at > timedelta(minutes=programme.evidence.late_upload_flag_minutes)
    values = {
        "scan_id": scan_id, "checkpoint_id": checkpoint.id, "staff_user_id": staff.id,
        "device": (data.device or None) and data.device[:64], "scanned_at": scanned_at, "received_at": now,
        "token_kind": token_kind, "worker_id": worker.id if worker is not None else None,
        "result": result, "reason": reason, "is_evidence": bool(result is ScanResult.ACCEPTED and is_evidence),
        "mask": data.mask, "temperature": data.temperature, "subject": subject, "details": details,
        "late_upload": late,
    }
    if reason in NOT_FINAL_REASONS:
        return RecordedScan(values=values, final=False)  # answered, not stored: a replay is judged again
    if claim_with_scan:
        if then is not None:
            transaction_for_writes(session)  # the scan and what the handler asked for, together
        values["id"] = store_claimed_scan(session, values)
        if values["id"] is None:  # claimed before: a replay, judged again and written nowhere
            return _replayed(session, scan_id, staff, claimed_before=True)
    else:
        values["id"] = store_scan(session, values)
    if then is not None:
        then(session)
    return RecordedScan(values=values, session=session)


def _replayed(session: Session, scan_id: str, staff: User, *, claimed_before: bool) -> RecordedScan | None:
    """The first answer to ``scan_id``, already claimed (``claimed_before``) or merely looked up
    (a scan in the future): ScanIdConflict when another account used it, or when it was claimed
    but its scan is gone (purged after the appeal window); None when there is none to replay."""
    existing = find_scan(session, scan_id)
    if existing is not None:
        if existing.staff_user_id != staff.id:
            raise ScanIdConflict(scan_id)
        return RecordedScan(existing, replayed=True)
    if claimed_before:
        raise ScanIdConflict(scan_id)
    return None
