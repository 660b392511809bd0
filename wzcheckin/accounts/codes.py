"""Accounts room, one-time codes by SMS (验证码): proof that a phone is in the caller's hand, for
registering, activating a roster account, resetting a password and changing a phone number.

Six digits, sent through the SMS outbox (``core.sms.queue_sms``: the configured gateway
delivers them), valid ``[accounts] one_time_code_minutes`` with ``one_time_code_tries`` guesses,
rate-limited per phone and per address. Only a keyed hash of a code is stored and no code is
ever logged (the outbox gateway logs the masked phone and the length only).

A request for a code is answered the same whether or not the details match an account: a code
row is written either way (so the limits count it), but a message goes out only when they match,
and a row without an account can never be used. Registration is the exception: there is no
account yet, so its code goes to whatever well-formed number is given and is spent by the
account it makes (the number must be the one the code was sent to). Plain Python: functions take the session and
``now``; they flush, never commit. A refusal of a wrong code is raised *after* its guess was
counted, so the caller commits before answering.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.errors import CodeRefused
from wzcheckin.accounts.models import CodePurpose, OneTimeCode, User
from wzcheckin.core.identity import mask_phone
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.core.sms import queue_sms
from wzcheckin.programme import Programme

CODE_DIGITS = 6
SMS_KIND = "one_time_code"

SMS_BODIES = {
    CodePurpose.ACTIVATE: "【留温过年】激活验证码 {code}，{minutes}分钟内有效。请勿告诉任何人（包括用人单位）。",
    CodePurpose.RESET: "【留温过年】重置密码验证码 {code}，{minutes}分钟内有效。请勿告诉任何人。",
    CodePurpose.PHONE_OLD: "【留温过年】更换手机号验证码 {code}，{minutes}分钟内有效。如非本人操作请忽略。",
    CodePurpose.PHONE_NEW: "【留温过年】绑定新手机号验证码 {code}，{minutes}分钟内有效。",
    CodePurpose.REGISTER: "【留温过年】注册验证码 {code}，{minutes}分钟内有效。",
}


def _hash(vault: PersonalDataVault, salt: str, code: str) -> str:
    return f"{salt}${vault.lookup_hash('one-time-code', salt + ':' + code)}"


def _matches(vault: PersonalDataVault, stored: str, code: str) -> bool:
    salt, _, _digest = stored.partition("$")
    return hmac.compare_digest(stored, _hash(vault, salt, code))


def address_hash(vault: PersonalDataVault, address: str | None) -> str:
    return vault.lookup_hash("code-address", address or "unknown")


def issue_code(session: Session, vault: PersonalDataVault, programme: Programme, *, purpose: CodePurpose,
               phone: str, user: User | None, address: str | None, now: datetime) -> OneTimeCode:
    """Make a code for ``phone`` and, when ``user`` is given (or the code is for registering,
    where there is no account yet), queue the text message carrying it.

    Limits (``[accounts]``): one code per phone and purpose per ``one_time_code_resend_seconds``;
    ``one_time_codes_per_phone_per_hour`` per phone; ``one_time_codes_per_address_per_hour`` per
    address; beyond them ``code_rate_limited``. The counts are read in the same transaction as the
    insert; requests racing each other may overshoot a limit by the few in flight at once, which
    the route's per-address request limit bounds.
    """
    rules = programme.accounts
    phone_key = vault.lookup_hash("phone", phone)
    from_address = address_hash(vault, address)
    hour_ago = now - timedelta(hours=1)
    per_phone = session.scalar(sa.select(sa.func.count(OneTimeCode.id)).where(
        OneTimeCode.phone_hash == phone_key, OneTimeCode.created_at > hour_ago))
    per_address = session.scalar(sa.select(sa.func.count(OneTimeCode.id)).where(
        OneTimeCode.address_hash == from_address, OneTimeCode.created_at > hour_ago))
    latest = session.scalar(sa.select(sa.func.max(OneTimeCode.created_at)).where(
        OneTimeCode.phone_hash == phone_key, OneTimeCode.purpose == purpose))
    too_soon = latest is not None and now - latest < timedelta(seconds=rules.one_time_code_resend_seconds)
    if (too_soon or per_phone >= rules.one_time_codes_per_phone_per_hour
            or per_address >= rules.one_time_codes_per_address_per_hour):
        raise CodeRefused("code_rate_limited")

    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    row = OneTimeCode(purpose=purpose, phone_hash=phone_key, user_id=user.id if user is not None else None,
                      address_hash=from_address, code_hash=_hash(vault, secrets.token_hex(4), code), attempts=0,
                      created_at=now, expires_at=now + timedelta(minutes=rules.one_time_code_minutes))
    session.add(row)
    session.flush()
    if user is not None or purpose is CodePurpose.REGISTER:
        # Not the row id alone: SQLite hands a deleted row's id out again, and a key already in the
        # outbox would silently drop this code's text message.
        queue_sms(session, dedupe_key=f"code:{row.id}:{row.code_hash[:16]}:{int(now.timestamp() * 1000)}", kind=SMS_KIND,
                  body=SMS_BODIES[purpose].format(code=code, minutes=rules.one_time_code_minutes), now=now,
                  recipient_encrypted=vault.encrypt(phone), recipient_masked=mask_phone(phone))
    return row


def use_code(session: Session, vault: PersonalDataVault, programme: Programme, *, purpose: CodePurpose,
             code_id: int | None, code: str | None, now: datetime) -> OneTimeCode:
    """Spend the code ``code_id`` (the one this caller was sent) if ``code`` is it and it is for
    ``purpose``; return its row, whose ``user_id`` names the account it was sent for (None for a
    registration code: the account does not exist yet). Raises
    ``code_invalid`` otherwise — after counting the guess, so the caller commits before answering.

    Concurrency: the guess is counted by a conditional UPDATE (``attempts < tries``, not used,
    not expired), and the code is spent by another (``used_at IS NULL``), so neither parallel
    guesses nor two requests with the right code get more than the rules allow.
    """
    clean = (code or "").strip()
    row = session.get(OneTimeCode, code_id) if isinstance(code_id, int) else None
    if row is None or row.purpose != purpose or (row.user_id is None and purpose is not CodePurpose.REGISTER):
        raise CodeRefused("code_invalid")
    counted = session.execute(
        sa.update(OneTimeCode)
        .where(OneTimeCode.id == row.id, OneTimeCode.used_at.is_(None), OneTimeCode.expires_at > now,
               OneTimeCode.attempts < programme.accounts.one_time_code_tries)
        .values(attempts=OneTimeCode.attempts + 1).execution_options(synchronize_session=False)).rowcount
    well_formed = len(clean) == CODE_DIGITS and clean.isascii() and clean.isdigit()
    if counted != 1 or not well_formed or not _matches(vault, row.code_hash, clean):
        raise CodeRefused("code_invalid")
    spent = session.execute(
        sa.update(OneTimeCode).where(OneTimeCode.id == row.id, OneTimeCode.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    if spent != 1:
        raise CodeRefused("code_invalid")
    return row
