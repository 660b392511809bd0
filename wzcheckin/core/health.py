"""Health: the write ``/healthz`` makes to prove the database takes writes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from wzcheckin.core.models import HealthHeartbeat

HEARTBEAT_ROW = 1


def record_heartbeat(session: Session, now: datetime) -> None:
    """Count one beat on the heartbeat row (created on first use). An upsert, so concurrent
    checks from several processes never collide; flushes, never commits."""
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    statement = insert(HealthHeartbeat).values(id=HEARTBEAT_ROW, beat_at=now, beats=1)
    statement = statement.on_conflict_do_update(
        index_elements=[HealthHeartbeat.id],
        set_={"beat_at": statement.excluded.beat_at, "beats": HealthHeartbeat.beats + 1},
    )
    session.execute(statement)

