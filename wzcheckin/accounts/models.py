"""Accounts room: users (one role each), their login sessions and API tokens, and workers —
the people the programme is for (新温州人), with their registration data."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wzcheckin.core.facts import EffectiveDated
from wzcheckin.core.retention import RawRecords
from wzcheckin.core.roles import Role
from wzcheckin.db import Base, BigIntPK, UTCDateTime, enum_column
from wzcheckin.programme import HukouStatus


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"))
    # Phones are personal data: encrypted, with a keyed hash for log-in look-up and uniqueness.
    phone_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    phone_encrypted: Mapped[str] = mapped_column(sa.Text)
    phone_masked: Mapped[str] = mapped_column(sa.String(16))
    # None until the account is activated (roster-imported workers, imported enterprise admins).
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    display_name: Mapped[str] = mapped_column(sa.String(100), default="")
    # Staff are bound to one checkpoint: gate:<credit_code>, venue:<code> or pickup:<code>.
    checkpoint_id: Mapped[int | None] = mapped_column(sa.ForeignKey("checkpoints.id"), index=True)
    # Carrier staff are bound to one carrier (china_mobile, china_unicom, china_telecom).
    carrier: Mapped[str | None] = mapped_column(sa.String(24))
    language: Mapped[str | None] = mapped_column(sa.String(8))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(sa.String(500))
    # No longer read: log-in failures are counted in ``login_backoffs`` (a back-off, not a lock).
    failed_logins: Mapped[int] = mapped_column(default=0)
    failed_logins_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    checkpoint = relationship("Checkpoint", lazy="joined")
    worker = relationship("Worker", back_populates="user", uselist=False)

    # Flask-Login: the session cookie carries the id of a server-side UserSession, so logging out
    # (or disabling the account) ends it on the server, not only in this browser.
    login_session_id = None  # set per request from the session cookie; not a column

    def get_id(self) -> str | None:
        return self.login_session_id

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None

    @property
    def is_activated(self) -> bool:
        return self.password_hash is not None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class UserSession(Base):
    """A server-side login session. Only a hash of the cookie's secret is stored."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user = relationship("User", lazy="joined")


class ApiToken(Base):
    """A bearer token for scanner devices, integrations and the mobile API. Stored hashed."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(sa.String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Every token expires (programme ``[accounts] api_token_days_*``).
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User", lazy="joined")


class LoginBackoff(Base):
    """Recent log-in failures under one key — an account (by its phone's look-up hash, so an
    unknown phone is treated like a known one), an address, or the pair — and until when the
    next attempt must wait. Shared by every process through the database; never a lock-out."""

    __tablename__ = "login_backoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    # "account:<phone hash>", "address:<address hash>", "pair:<hash of both>".
    key: Mapped[str] = mapped_column(sa.String(80), unique=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    wait_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CodePurpose(StrEnum):
    REGISTER = "register"
    ACTIVATE = "activate"
    RESET = "reset"
    PHONE_OLD = "phone_old"    # a change of phone number: the code sent to the old number ...
    PHONE_NEW = "phone_new"    # ... and the one sent to the new number


class OneTimeCode(Base):
    """验证码: a six-digit code sent by SMS to prove a phone is in the caller's hand. Only a keyed
    hash of the code is kept; it is spent by its first right answer or its last wrong one."""

    __tablename__ = "one_time_codes"
    __table_args__ = (sa.Index("ix_one_time_codes_phone_purpose", "phone_hash", "purpose", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[CodePurpose] = mapped_column(enum_column(CodePurpose, "code_purpose", 16))
    phone_hash: Mapped[str] = mapped_column(sa.String(64))
    # The account the code is for; None when the details given matched none (then no message is
    # sent and the code can never be used, while the caller is answered as if it had been).
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    address_hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Worker(Base):
    """新温州人: a migrant worker registered with the programme (by themself or a roster)."""

    __tablename__ = "workers"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    # Opaque id carried by the worker's pass (never the ID or phone number): 16 hex characters.
    public_id: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    id_number_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    id_number_encrypted: Mapped[str] = mapped_column(sa.Text)
    id_number_tail: Mapped[str] = mapped_column(sa.String(4))
    # Declared hukou (free text); blank means "derived from the ID number".
    hukou: Mapped[str] = mapped_column(sa.String(100), default="")
    # 户籍 as the programme decides it (``Programme.hukou_status``): from the ID number's prefix
    # and the declared hukou read as a place name; "review" until an official decides. Decided
    # when the record is written: the ID number is encrypted, so the cutoff cannot read its prefix.
    hukou_status: Mapped[HukouStatus] = mapped_column(enum_column(HukouStatus, "hukou_status", 12),
                                                      default=HukouStatus.NON_LOCAL)
    residence_permit_no_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    residence_permit_expiry: Mapped[date | None] = mapped_column(sa.Date)
    # 留温承诺: when the worker pledged to stay; None if they have not.
    pledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprises.id"), index=True)
    # The employer confirmed employment (a roster import, or the enterprise admin on the roster).
    employment_confirmed: Mapped[bool] = mapped_column(default=False)
    employment_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    registered_via: Mapped[str] = mapped_column(sa.String(16))  # "self" or "roster"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user = relationship("User", back_populates="worker", lazy="joined")
    enterprise = relationship("Enterprise", lazy="joined")

    @property
    def hukou_is_home(self) -> bool:
        return self.hukou_status is HukouStatus.HOME

    @property
    def has_pledged(self) -> bool:
        return self.pledged_at is not None

    @property
    def has_residence_permit(self) -> bool:
        return self.residence_permit_no_encrypted is not None

    def residence_permit_valid_on(self, day: date) -> bool:
        """P2: a permit is valid through its expiry date; one without a known expiry is not
        (the worker is asked for it)."""
        return self.has_residence_permit and self.residence_permit_expiry is not None \
            and self.residence_permit_expiry >= day


class WorkerFacts(EffectiveDated, Base):
    """登记事实: one version of the facts about a worker that money is decided from — the
    pledge, the hukou, the residence permit and the employer's roster — true over
    [valid_from, valid_to). The cutoff reads the version that held at its instant, so a change
    recorded afterwards never alters that decision (SPEC §3). Written by ``accounts.facts``."""

    __tablename__ = "worker_facts"
    __table_args__ = (
        sa.Index("ix_worker_facts_worker_from", "worker_id", "valid_from"),
        # One open version per worker: two changes at once cannot both open one.
        sa.Index("uq_worker_facts_open_worker", "worker_id", unique=True,
                 sqlite_where=sa.text("valid_to IS NULL"), postgresql_where=sa.text("valid_to IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("workers.id"))
    pledged: Mapped[bool] = mapped_column()
    hukou_declared: Mapped[str] = mapped_column(sa.String(100))
    hukou_status: Mapped[HukouStatus] = mapped_column(enum_column(HukouStatus, "hukou_status", 12))
    permit_held: Mapped[bool] = mapped_column()
    permit_expiry: Mapped[date | None] = mapped_column(sa.Date)
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprises.id"))
    employment_confirmed: Mapped[bool] = mapped_column()


class HukouReview(Base):
    """户籍复核: an official's decision on a worker whose declared hukou and ID number disagree,
    with the reason. The decision holds for the declaration it was made on; a new declaration
    is read afresh."""

    __tablename__ = "hukou_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("workers.id"), index=True)
    hukou_declared: Mapped[str] = mapped_column(sa.String(100))
    decision: Mapped[HukouStatus] = mapped_column(enum_column(HukouStatus, "hukou_status", 12))
    reason: Mapped[str] = mapped_column(sa.String(500))
    decided_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Departure(Base):
    """离温: a recorded departure from Wenzhou, by the worker or their enterprise's admin.

    At most one active (not withdrawn) departure per worker: a partial UNIQUE index.
    """

    __tablename__ = "residence_departures"
    __table_args__ = (
        sa.Index("uq_residence_departures_active_worker", "worker_id", unique=True,
                 sqlite_where=sa.text("withdrawn_at IS NULL"), postgresql_where=sa.text("withdrawn_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(sa.ForeignKey("workers.id"), index=True)
    departed_on: Mapped[date] = mapped_column(sa.Date)   # local date the worker left
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_by_role: Mapped[str] = mapped_column(sa.String(24))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


# What the retention purge deletes after the appeal window (core.retention): one-time codes (a
# keyed hash of the phone, of the address and of the code) and log-in back-off counters (hashes
# of phones and addresses) — security telemetry, needed for minutes, not for the audit.
RAW_RECORDS = (
    RawRecords("one_time_codes", OneTimeCode, OneTimeCode.created_at),
    RawRecords("login_backoffs", LoginBackoff, LoginBackoff.last_failure_at),
)
