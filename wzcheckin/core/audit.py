"""The audit log: every staff and official action, written in the same transaction as the
action itself. Details never hold an ID or phone number (masked forms only)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

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


def record_audit(
    session: Session,
    *,
    at: datetime,
    action: str,
    actor=None,
    actor_role: str | None = None,
    target_type: str | None = None,
    target_id: str | int | None = None,
    details: dict | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Add an audit entry to the caller's transaction. ``actor`` is a User or None (CLI, jobs)."""
    entry = AuditEntry(
        at=at,
        actor_user_id=getattr(actor, "id", None),
        actor_role=actor_role or (str(actor.role) if actor is not None else "cli"),
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        details=details or None,
        ip=ip,
    )
    session.add(entry)
    return entry
