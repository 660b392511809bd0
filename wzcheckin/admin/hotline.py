"""Admin room: the hotline case log (热线来电记录, P11: the programme's 24-hour hotline). An officer
of 经信局 records each call — its topic, its outcome and a note — linked to the worker (found by
the caller's phone number) or the enterprise (by its credit code) it concerns; cases are found
again by a phone number, full or masked (``138****1234``), or a credit code.

Plain Python: functions take the session and ``now``; they flush, never commit. The caller's
number is kept as a keyed hash and masked, never in clear, so the log itself holds no phone
number to leak. Every case recorded is audited (the caller's unit of work).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.models import User, Worker
from wzcheckin.admin.errors import AdminRefusal
from wzcheckin.admin.models import HotlineCase, HotlineOutcome, HotlineTopic
from wzcheckin.core.audit import record_audit
from wzcheckin.core.identity import InvalidIdentifier, mask_phone, parse_credit_code, parse_phone
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.core.roles import Role
from wzcheckin.enterprises.models import Enterprise

HOTLINE_RECORDERS = (Role.ECONOMY_OFFICIAL,)
HOTLINE_READERS = (Role.ECONOMY_OFFICIAL, Role.AUDITOR)
NOTE_MAX = 1000
RECENT = 50
MASKED_PHONE = re.compile(r"^1\d{2}\*{4}\d{4}$")


class HotlineRefused(AdminRefusal):
    """A stable ``code``, on the form ``field`` it belongs to."""


@dataclass(frozen=True)
class CallDetails:
    topic: str | None
    outcome: str | None
    note: str | None
    caller_phone: str | None = None       # as typed; optional (a caller may withhold it)
    credit_code: str | None = None        # the enterprise the call is about; optional


def record_case(session: Session, vault: PersonalDataVault, details: CallDetails, *, actor: User, now: datetime,
                ip: str | None = None) -> HotlineCase:
    """Record one call. The worker is linked when the caller's number is a worker's account;
    the enterprise when a credit code is given (it must be on file). Refusals: ``topic_required``,
    ``outcome_required``, ``note_required``, ``note_too_long``, a phone or credit-code format
    code, ``unknown_enterprise``."""
    try:
        topic = HotlineTopic(details.topic or "")
    except ValueError:
        raise HotlineRefused("topic_required", "topic") from None
    try:
        outcome = HotlineOutcome(details.outcome or "")
    except ValueError:
        raise HotlineRefused("outcome_required", "outcome") from None
    note = (details.note or "").strip()
    if not note:
        raise HotlineRefused("note_required", "note")
    if len(note) > NOTE_MAX:
        raise HotlineRefused("note_too_long", "note")
    phone_key = phone_shown = None
    worker = None
    if (details.caller_phone or "").strip():
        try:
            phone = parse_phone(details.caller_phone)
        except InvalidIdentifier as exc:
            raise HotlineRefused(exc.code, "caller_phone") from None
        phone_key, phone_shown = vault.lookup_hash("phone", phone), mask_phone(phone)
        worker = session.scalar(sa.select(Worker).join(User, Worker.user_id == User.id)
                                .where(User.phone_hash == phone_key))
    enterprise = None
    if (details.credit_code or "").strip():
        try:
            credit_code = parse_credit_code(details.credit_code)
        except InvalidIdentifier as exc:
            raise HotlineRefused(exc.code, "credit_code") from None
        enterprise = session.scalar(sa.select(Enterprise).where(Enterprise.credit_code == credit_code))
        if enterprise is None:
            raise HotlineRefused("unknown_enterprise", "credit_code")
    if enterprise is None and worker is not None:
        enterprise = worker.enterprise  # the worker's employer, as it stands now
    case = HotlineCase(topic=topic, outcome=outcome, note=note, caller_phone_hash=phone_key,
                       caller_phone_masked=phone_shown, worker_id=worker.id if worker else None,
                       enterprise_id=enterprise.id if enterprise else None, recorded_by_user_id=actor.id,
                       recorded_at=now)
    session.add(case)
    session.flush()
    record_audit(session, at=now, actor=actor, action="hotline.case", target_type="hotline_case", target_id=case.id,
                 ip=ip, details={"topic": topic.value, "outcome": outcome.value, "worker": case.worker_id,
                                 "enterprise": case.enterprise_id})
    return case


def recent_cases(session: Session, limit: int = RECENT) -> list[HotlineCase]:
    return list(session.scalars(sa.select(HotlineCase).order_by(HotlineCase.recorded_at.desc(),
                                                                 HotlineCase.id.desc()).limit(limit)))


def find_cases(session: Session, vault: PersonalDataVault, query: str | None, limit: int = 200) -> list[HotlineCase]:
    """Cases found by a phone number (full: the caller's or the linked worker's; masked: as the
    log shows it) or an enterprise's credit code. Refusal: ``search_unclear``."""
    text = (query or "").strip().replace(" ", "")
    condition = None
    if MASKED_PHONE.match(text):
        workers = sa.select(Worker.id).join(User, Worker.user_id == User.id).where(User.phone_masked == text)
        condition = sa.or_(HotlineCase.caller_phone_masked == text, HotlineCase.worker_id.in_(workers))
    else:
        try:
            phone = parse_phone(text)
        except InvalidIdentifier:
            phone = None
        if phone is not None:
            key = vault.lookup_hash("phone", phone)
            workers = sa.select(Worker.id).join(User, Worker.user_id == User.id).where(User.phone_hash == key)
            condition = sa.or_(HotlineCase.caller_phone_hash == key, HotlineCase.worker_id.in_(workers))
        else:
            try:
                credit_code = parse_credit_code(text)
            except InvalidIdentifier:
                raise HotlineRefused("search_unclear", "query") from None
            enterprises = sa.select(Enterprise.id).where(Enterprise.credit_code == credit_code)
            condition = HotlineCase.enterprise_id.in_(enterprises)
    return list(session.scalars(sa.select(HotlineCase).where(condition)
                                .order_by(HotlineCase.recorded_at.desc(), HotlineCase.id.desc()).limit(limit)))
