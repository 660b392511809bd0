"""Core models: the audit log, the health heartbeat, the SMS outbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from wzcheckin.db import Base, BigIntPK, UTCDateTime, enum_column


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    actor_role: Mapped[str] = mapped_column(sa.String(24))  # a role, or "cli" / "scheduler"
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(sa.String(40))
    target_id: Mapped[str | None] = mapped_column(sa.String(80))
    details: Mapped[dict | None] = mapped_column(sa.JSON)
    ip: Mapped[str | None] = mapped_column(sa.String(45))


class HealthHeartbeat(Base):
    """The one row ``/healthz`` rewrites on every call: a committed write is the only proof that
    the database can still be written (a ``SELECT 1`` answers happily with the disk full)."""

    __tablename__ = "health_heartbeat"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    beats: Mapped[int] = mapped_column(sa.BigInteger)


class SmsStatus(StrEnum):
    QUEUED = "queued"              # waiting for the dispatcher
    SENDING = "sending"            # handed to the gateway; a crash here leaves it for a person to check
    SENT = "sent"
    FAILED = "failed"
    NO_RECIPIENT = "no_recipient"  # e.g. an enterprise without an admin phone: nobody to send to


class SmsMessage(Base):
    """短信: one text message, in the outbox officials can read. ``dedupe_key`` is UNIQUE, so a
    notice is queued once however often the job that queues it runs. The phone is stored as
    the vault's ciphertext (copied from the account) plus its masked form; never in the clear."""

    __tablename__ = "sms_outbox"
    __table_args__ = (sa.Index("ix_sms_outbox_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(32), index=True)   # "p7_qualified", "evidence_reminder"
    enterprise_id: Mapped[int | None] = mapped_column(sa.ForeignKey("enterprises.id"))
    worker_id: Mapped[int | None] = mapped_column(sa.ForeignKey("workers.id"))
    recipient_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    recipient_masked: Mapped[str] = mapped_column(sa.String(16), default="")
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[SmsStatus] = mapped_column(enum_column(SmsStatus, "sms_status", 16))
    gateway: Mapped[str | None] = mapped_column(sa.String(32))
    provider_id: Mapped[str | None] = mapped_column(sa.String(100))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
