"""Accounts room, log-in and sessions: a back-off (never a lock-out), server-side sessions,
disabling and enabling an account. Plain Python; none commits."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from wzcheckin.accounts import backoff
from wzcheckin.accounts.errors import AccountError, LoginRefused
from wzcheckin.accounts.lookups import (
    _secret_hash,
    find_user_by_phone,
    phone_hash,
)
from wzcheckin.accounts.models import ApiToken, User, UserSession
from wzcheckin.core.identity import (
    InvalidIdentifier,
    parse_phone,
)
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.core.roles import Role
from wzcheckin.programme import Programme

SESSION_TOUCH_INTERVAL = timedelta(minutes=1)
# Verified against when the phone is unknown, so a miss costs as long as a wrong password.
_DUMMY_PASSWORD_HASH = generate_password_hash("not-a-real-password-wzcheckin")


def authenticate(session: Session, vault: PersonalDataVault, phone_raw: str, password: str,
                 now: datetime, *, address: str | None = None, programme: Programme | None = None) -> User:
    """Phone + password, with a back-off instead of a lock-out (``accounts.backoff``): while a
    wait is running for the account, the address or the pair, the attempt is refused
    (``slow_down``, with the seconds left) without checking the password.

    One answer (``invalid_credentials``) for an unknown phone, a wrong password and a roster
    account not yet activated, each costing one password-hash check, so neither the words nor
    the time tell a stranger which phone numbers have accounts."""
    try:
        phone = parse_phone(phone_raw)
    except InvalidIdentifier:
        phone = None
    keys = backoff.backoff_keys(vault, programme, phone_hash=phone_hash(vault, phone) if phone else None,
                                address=address)
    wait = backoff.wait_remaining(session, keys, now)
    if wait > timedelta(0):
        raise LoginRefused("slow_down", retry_after=wait)
    user = find_user_by_phone(session, vault, phone) if phone else None
    stored_hash = user.password_hash if user is not None else None
    if not check_password_hash(stored_hash or _DUMMY_PASSWORD_HASH, password or "") or stored_hash is None:
        backoff.record_failure(session, keys, programme, now)
        raise LoginRefused("invalid_credentials")
    if user.disabled_at is not None:
        raise LoginRefused("disabled")
    backoff.record_success(session, keys)
    user.last_login_at = now
    return user


def start_session(session: Session, user: User, now: datetime) -> str:
    """A new server-side session; the returned secret goes into the (signed) cookie only."""
    secret = secrets.token_urlsafe(32)
    session.add(UserSession(secret_hash=_secret_hash(secret), user_id=user.id, created_at=now, last_seen_at=now))
    session.flush()
    return secret


@dataclass(frozen=True)
class SessionPolicy:
    staff_idle: timedelta
    staff_absolute: timedelta
    worker_absolute: timedelta


def load_session(session: Session, secret: str, now: datetime,
                 policy: SessionPolicy) -> tuple[User, UserSession] | None:
    """The user behind a session secret, or None when it ended, expired or was disabled."""
    if not secret or len(secret) > 128:
        return None
    row = session.scalar(sa.select(UserSession).where(UserSession.secret_hash == _secret_hash(secret)))
    if row is None:
        return None
    user = row.user
    if user.disabled_at is not None:
        return None
    age, idle = now - row.created_at, now - row.last_seen_at
    if user.role is Role.WORKER:
        if age > policy.worker_absolute:
            return None
    elif age > policy.staff_absolute or idle > policy.staff_idle:
        return None
    user.login_session_id = secret
    return user, row


def end_session(session: Session, secret: str) -> None:
    session.execute(sa.delete(UserSession).where(UserSession.secret_hash == _secret_hash(secret)))


def end_all_sessions(session: Session, user: User) -> None:
    session.execute(sa.delete(UserSession).where(UserSession.user_id == user.id))


def disable_user(session: Session, user: User, now: datetime, reason: str = "") -> int:
    """The account loses access at its next request: its sessions end and its API tokens are
    revoked now (every request re-reads the account, so a cached object elsewhere does not help
    it). Returns how many tokens were revoked."""
    user.disabled_at = now
    user.disabled_reason = reason[:500] or None
    end_all_sessions(session, user)
    return session.execute(
        sa.update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount


def enable_user(session: Session, user: User) -> None:
    """A disabled account may log in again. Its old sessions and tokens stay ended: new ones are
    made by logging in and by ``wzcheckin token create``."""
    if user.disabled_at is None:
        raise AccountError("not_disabled")
    user.disabled_at = None
    user.disabled_reason = None
