"""Directory: checkpoints as the rooms that own them make them (a gate per enterprise, a
venue, a pickup point, a training class), and found as staff type their references."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.directory.models import Checkpoint, CheckpointKind


def ensure_checkpoint(session: Session, kind: CheckpointKind, code: str, *, name: str, district: str,
                      now: datetime, enterprise_id: int | None = None) -> Checkpoint:
    """The checkpoint ``<kind>:<code>``, made on first use; its name and district follow the
    place it stands for. Flushed, so its id is known."""
    ref = Checkpoint.make_ref(kind, code)
    checkpoint = session.scalar(sa.select(Checkpoint).where(Checkpoint.ref == ref))
    if checkpoint is None:
        checkpoint = Checkpoint(ref=ref, kind=kind, code=code, enterprise_id=enterprise_id, created_at=now)
        session.add(checkpoint)
    checkpoint.name = name[:200]
    checkpoint.district = district
    session.flush()
    return checkpoint


def find_checkpoint(session: Session, typed: str | None) -> Checkpoint | None:
    """The checkpoint a staff member means by ``typed`` (``venue:LIB1``, ``gate:9133…``): the
    kind in any case and spacing; the code exactly as stored, or else in any case when that
    names one checkpoint only (venue codes are stored lower-case, credit codes upper-case,
    pickup-point codes as imported — staff type the code as they imported it)."""
    kind_text, sep, code = (typed or "").strip().partition(":")
    code = code.strip()
    try:
        kind = CheckpointKind(kind_text.strip().lower())
    except ValueError:
        return None
    if not sep or not code:
        return None
    exact = session.scalar(sa.select(Checkpoint).where(Checkpoint.ref == Checkpoint.make_ref(kind, code)))
    if exact is not None:
        return exact
    alike = session.scalars(
        sa.select(Checkpoint).where(Checkpoint.kind == kind, sa.func.lower(Checkpoint.code) == code.lower()).limit(2)
    ).all()
    return alike[0] if len(alike) == 1 else None
