"""The audit log: every staff and official action, written in the same transaction as the
action itself. Details never hold an ID or phone number (masked forms only)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from wzcheckin.core.models import AuditEntry


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
