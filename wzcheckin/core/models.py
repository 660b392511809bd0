"""Core models: the audit log, the health heartbeat."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from wzcheckin.db import Base, BigIntPK, UTCDateTime


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
