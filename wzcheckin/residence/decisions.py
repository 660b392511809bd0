"""Residence room: an official's decision on an enterprise's request — a P7 subsidy application
or a P8 production declaration: approve, or reject with a reason; audited in the same unit of
work."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.models import User
from wzcheckin.core.audit import record_audit
from wzcheckin.residence.errors import ResidenceError

MAX_REASON_LENGTH = 500


def clean_reason(reason: str | None, *, required: bool) -> str:
    """The decision's reason, trimmed; a rejection needs one (``reason_required``)."""
    reason = (reason or "").strip()
    if required and not reason:
        raise ResidenceError("reason_required", field="reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise ResidenceError("reason_too_long", field="reason")
    return reason


def record_decision(session: Session, item, status, *, pending, reason: str, actor: User, now: datetime,
                    audit_action: str, target_type: str, ip: str | None = None) -> None:
    """Move ``item`` (an application or declaration: ``status``, ``decided_at``,
    ``decided_by_user_id``, ``decision_reason``, ``amount_yuan``) from ``pending`` to ``status``
    and audit it as ``audit_action``.

    Concurrency: a conditional UPDATE on ``status = pending``, so of two officials deciding at
    once only one changes the row; the other is told ``already_decided``.
    """
    model = type(item)
    changed = session.execute(
        sa.update(model)
        .where(model.id == item.id, model.status == pending)
        .values(status=status, decided_at=now, decided_by_user_id=actor.id, decision_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise ResidenceError("already_decided")
    session.refresh(item)
    record_audit(session, at=now, actor=actor, action=audit_action, target_type=target_type, target_id=item.id,
                 details={"reason": reason, "amount_yuan": item.amount_yuan}, ip=ip)
