"""Accounts room, credentials: a forgotten password reset and a change of phone number, each
confirmed with one-time codes. Plain Python; none commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from wzcheckin.accounts.codes import issue_code, use_code
from wzcheckin.accounts.errors import AccountError, CodeRefused
from wzcheckin.accounts.lookups import (
    find_user_by_phone,
    hash_password,
    password_problem,
    phone_hash,
)
from wzcheckin.accounts.models import CodePurpose, OneTimeCode, User
from wzcheckin.accounts.sessions import end_all_sessions
from wzcheckin.core.identity import (
    InvalidIdentifier,
    mask_phone,
    parse_phone,
)
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.programme import Programme

# --- password reset ---------------------------------------------------------------------------

def request_password_reset(session: Session, vault: PersonalDataVault, programme: Programme, phone_raw: str,
                           now: datetime, *, address: str | None = None) -> OneTimeCode:
    """Step 1 of a password reset (workers and staff): a code by SMS to the account's phone.
    One answer whether or not the number has an activated, enabled account."""
    try:
        phone = parse_phone(phone_raw)
    except InvalidIdentifier as exc:
        raise AccountError.fields({"phone": exc.code}) from None
    user = find_user_by_phone(session, vault, phone)
    eligible = user is not None and user.is_activated and user.disabled_at is None
    return issue_code(session, vault, programme, purpose=CodePurpose.RESET, phone=phone,
                      user=user if eligible else None, address=address, now=now)


def reset_password(session: Session, vault: PersonalDataVault, programme: Programme, *, code_id: int | None,
                   code: str | None, password: str, now: datetime) -> User:
    """Step 2: the code and a new password. Every session of the account ends (whoever knew the
    old password is logged out); its API tokens are kept (devices are revoked on their own)."""
    problem = password_problem(password)
    if problem:
        raise AccountError.fields({"password": problem})
    row = use_code(session, vault, programme, purpose=CodePurpose.RESET, code_id=code_id, code=code, now=now)
    user = session.get(User, row.user_id)
    if user is None or user.disabled_at is not None or user.phone_hash != row.phone_hash:
        raise CodeRefused("code_invalid")
    if password_problem(password, vault.decrypt(user.phone_encrypted)):
        raise AccountError.fields({"password": "password_contains_phone"})
    user.password_hash = hash_password(password)
    end_all_sessions(session, user)
    return user


# --- a change of phone number -------------------------------------------------------------------

def request_phone_change(session: Session, vault: PersonalDataVault, programme: Programme, user: User,
                         new_phone_raw: str, now: datetime, *,
                         address: str | None = None) -> tuple[OneTimeCode, OneTimeCode]:
    """Step 1 of changing an account's phone number: one code to the old number, one to the new.
    A new number already taken by another account is sent nothing (and the change cannot
    succeed), answered alike."""
    try:
        new_phone = parse_phone(new_phone_raw)
    except InvalidIdentifier as exc:
        raise AccountError.fields({"new_phone": exc.code}) from None
    if phone_hash(vault, new_phone) == user.phone_hash:
        raise AccountError.fields({"new_phone": "phone_unchanged"})
    taken = find_user_by_phone(session, vault, new_phone) is not None
    old = issue_code(session, vault, programme, purpose=CodePurpose.PHONE_OLD,
                     phone=vault.decrypt(user.phone_encrypted), user=user, address=address, now=now)
    new = issue_code(session, vault, programme, purpose=CodePurpose.PHONE_NEW, phone=new_phone,
                     user=None if taken else user, address=address, now=now)
    return old, new


def set_phone(session: Session, vault: PersonalDataVault, user: User, phone: str) -> None:
    """Write a new phone number on the account. The UNIQUE phone hash refuses a number another
    account took meanwhile (an IntegrityError at the flush, mapped by the caller)."""
    user.phone_hash = phone_hash(vault, phone)
    user.phone_encrypted = vault.encrypt(phone)
    user.phone_masked = mask_phone(phone)
    session.flush()


def change_phone(session: Session, vault: PersonalDataVault, programme: Programme, user: User, *,
                 new_phone_raw: str, old_code_id: int | None, old_code: str | None, new_code_id: int | None,
                 new_code: str | None, now: datetime) -> str:
    """Step 2: both codes, and the new number typed again. Returns the new number (normalised).
    Refusals: ``code_invalid`` (after the guesses are counted: commit before answering)."""
    try:
        new_phone = parse_phone(new_phone_raw)
    except InvalidIdentifier as exc:
        raise AccountError.fields({"new_phone": exc.code}) from None
    old_row = use_code(session, vault, programme, purpose=CodePurpose.PHONE_OLD, code_id=old_code_id,
                       code=old_code, now=now)
    new_row = use_code(session, vault, programme, purpose=CodePurpose.PHONE_NEW, code_id=new_code_id,
                       code=new_code, now=now)
    if (old_row.user_id != user.id or new_row.user_id != user.id or old_row.phone_hash != user.phone_hash
            or new_row.phone_hash != phone_hash(vault, new_phone)):
        raise CodeRefused("code_invalid")
    set_phone(session, vault, user, new_phone)
    return new_phone
