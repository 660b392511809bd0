"""Accounts room, API tokens: issued on the clock the request runs on, expiring, revocable;
stored as a hash. Plain Python; none commits."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from wzcheckin.accounts.errors import AccountError
from wzcheckin.accounts.lookups import (
    _secret_hash,
)
from wzcheckin.accounts.models import ApiToken, User
from wzcheckin.core.roles import Role
from wzcheckin.db import HotStatement
from wzcheckin.directory.models import Checkpoint, CheckpointKind
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


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    """A staff account's checkpoint as read with its bearer token: the columns, no relationships."""

    id: int
    ref: str
    kind: CheckpointKind
    code: str
    name: str
    district: str
    enterprise_id: int | None


@dataclass(frozen=True, slots=True)
class ApiPrincipal:
    """``current_user`` of a bearer request to a view that asked for it (``api_route(...,
    bearer_principal=True)``): the account's columns such a view reads, from the token's one Core
    row, instead of the ORM ``User`` (with its checkpoint, the costliest load on the scan path).
    It carries what Flask-Login and the request's hooks ask of a user (``is_authenticated``,
    ``is_active``, ``is_anonymous``, ``get_id``; the role for ``api_route``, the language for the
    answer's translations, the checkpoint for ``current_checkpoint``) and nothing else: a view
    that reads more (the worker, the phone, an audit actor) must not ask for it. Read afresh on
    every request, like the user: a revoked token or a disabled account fails at the next one."""

    id: int
    role: Role
    language: str | None
    checkpoint_id: int | None
    checkpoint: CheckpointRow | None

    is_authenticated = True
    is_active = True  # the token's query admits enabled accounts only
    is_anonymous = False
    disabled_at = None

    def get_id(self) -> str | None:
        return None  # as a ``User`` on a bearer request: no server-side page session

    def __repr__(self) -> str:
        return f"<ApiPrincipal {self.id} {self.role}>"


_USERS, _TOKENS, _CHECKPOINTS = User.__table__, ApiToken.__table__, Checkpoint.__table__
_CHECKPOINT_COLUMNS = (_CHECKPOINTS.c.id, _CHECKPOINTS.c.ref, _CHECKPOINTS.c.kind, _CHECKPOINTS.c.code,
                       _CHECKPOINTS.c.name, _CHECKPOINTS.c.district, _CHECKPOINTS.c.enterprise_id)
# The same conditions as _TOKEN_USER, on the tables: one Core row, no ORM entity.
_TOKEN_PRINCIPAL = (
    sa.select(_USERS.c.id, _USERS.c.role, _USERS.c.language, _USERS.c.checkpoint_id, *_CHECKPOINT_COLUMNS,
              _TOKENS.c.id)
    .select_from(_USERS.join(_TOKENS, _TOKENS.c.user_id == _USERS.c.id)
                 .outerjoin(_CHECKPOINTS, _CHECKPOINTS.c.id == _USERS.c.checkpoint_id))
    .where(_TOKENS.c.token_hash == sa.bindparam("token_hash"), _TOKENS.c.revoked_at.is_(None),
           _TOKENS.c.expires_at > sa.bindparam("now"), _USERS.c.disabled_at.is_(None))
)
_PRINCIPAL_WIDTH = 4 + len(_CHECKPOINT_COLUMNS) + 1  # the user's, the checkpoint's, the token's id


def principal_statement(with_columns: tuple = ()) -> HotStatement:
    """:func:`token_statement` for :func:`authenticate_api_principal` (every scan sends it: run
    on the driver's cursor, ``db.HotStatement``)."""
    return HotStatement(_TOKEN_PRINCIPAL.add_columns(*with_columns) if with_columns else _TOKEN_PRINCIPAL)


_PRINCIPAL = principal_statement()


def authenticate_api_principal(session: Session, plaintext: str, now: datetime, *,
                               statement: HotStatement = _PRINCIPAL) -> tuple[ApiPrincipal, int, tuple] | None:
    """:func:`authenticate_api_token`, the account as an :class:`ApiPrincipal`: the same
    conditions (unknown, revoked or expired token, disabled account: None), one Core query."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 128:
        return None
    row = statement.first(session.connection(), {"token_hash": _secret_hash(plaintext), "now": now})
    if row is None:
        return None
    checkpoint = CheckpointRow(*row[4:4 + len(_CHECKPOINT_COLUMNS)]) if row[4] is not None else None
    principal = ApiPrincipal(row[0], row[1], row[2], row[3], checkpoint)
    return principal, row[_PRINCIPAL_WIDTH - 1], tuple(row[_PRINCIPAL_WIDTH:])


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
