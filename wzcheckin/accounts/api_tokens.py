"""Accounts room, API tokens: issued on the clock the request runs on, expiring, revocable;
stored as a hash. Plain Python; none commits."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from wzcheckin.accounts.errors import AccountError
from wzcheckin.accounts.lookups import (
    _secret_hash,
)
from wzcheckin.accounts.models import ApiToken, User
from wzcheckin.directory.models import Checkpoint
from wzcheckin.programme import AccountsSection, Programme

TOKEN_PREFIX = "wzt_"  # noqa: S105 - a public prefix, not a secret
def token_lifetime(user: User, programme: Programme | None) -> timedelta:
    """How long a new API token of this account lives: staff and officials less than workers
    (``[accounts] api_token_days_*``; the section's defaults for callers without a programme)."""
    accounts = programme.accounts if programme is not None else AccountsSection()
    days = accounts.api_token_days_staff if user.role.is_staff else accounts.api_token_days_worker
    return timedelta(days=days)


def issue_api_token(session: Session, user: User, now: datetime, label: str = "", *,
                    programme: Programme | None = None) -> str:
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(token_hash=_secret_hash(plaintext), user_id=user.id, label=label[:100], created_at=now,
                         expires_at=now + token_lifetime(user, programme)))
    session.flush()
    return plaintext


# Every API request asks, so the statement is built once (options and all): building it per
# request cost more than running it. The user comes with their checkpoint (the scan path needs
# it), never the checkpoint's enterprise unless somebody looks at it.
_TOKEN_USER = (
    sa.select(User, ApiToken.id)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == sa.bindparam("token_hash"), ApiToken.revoked_at.is_(None),
           ApiToken.expires_at > sa.bindparam("now"), User.disabled_at.is_(None))
    .options(joinedload(User.checkpoint).lazyload(Checkpoint.enterprise))
)


def token_statement(with_columns: tuple = ()) -> sa.Select:
    """The bearer look-up, with more scalar columns read in the same round trip (the signing keys'
    fingerprint, say). Built once, at start-up, by whoever authenticates (accounts.auth)."""
    return _TOKEN_USER.add_columns(*with_columns) if with_columns else _TOKEN_USER


def authenticate_api_token(session: Session, plaintext: str, now: datetime, *,
                           statement: sa.Select = _TOKEN_USER) -> tuple[User, int, tuple] | None:
    """The account behind a bearer token and the token's id, or None when the token is unknown,
    revoked or expired, or its account is disabled — read afresh on every request, in one query.
    ``statement``: from :func:`token_statement`; the values of its extra columns come back as the
    third item."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 128:
        return None
    row = session.execute(statement, {"token_hash": _secret_hash(plaintext), "now": now}).first()
    if row is None:
        return None
    return row[0], row[1], tuple(row[2:])


def list_api_tokens(session: Session, user: User) -> list[ApiToken]:
    """The account's tokens, newest first (the token itself is never stored: only its hash)."""
    return list(session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def token_state(token: ApiToken, now: datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token.expires_at <= now else "active"


def revoke_api_tokens(session: Session, user: User, now: datetime, *, token_id: int | None = None) -> list[int]:
    """Revoke one token of the account (by its id) or, with ``token_id=None``, all its live
    ones. Returns the ids revoked. A conditional UPDATE (``revoked_at IS NULL``) makes a
    concurrent second revocation a no-op rather than a new revocation time."""
    condition = [ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)]
    if token_id is not None:
        exists = session.scalar(sa.select(ApiToken.id).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
        if exists is None:
            raise AccountError("token_unknown")
        condition.append(ApiToken.id == token_id)
    ids = list(session.scalars(sa.select(ApiToken.id).where(*condition)))
    if ids:
        session.execute(sa.update(ApiToken).where(ApiToken.id.in_(ids), ApiToken.revoked_at.is_(None))
                        .values(revoked_at=now).execution_options(synchronize_session=False))
    return ids
