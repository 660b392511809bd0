"""Scheduler, its one table: ``job_runs``, the run claims and the run log.

Created by Alembic migrations like every table, never by the scheduler. APScheduler's own job
store is in memory, one per scheduler process: nothing of it is kept in the database.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from wzcheckin.db import Base, BigIntPK, UTCDateTime


class JobRunStatus:
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobRun(Base):
    """One run of a scheduled job for one scheduled instant, claimed before it starts.

    UNIQUE (job_id, scheduled_for) is what stops a second scheduler process (or a hand-started
    ``--once``) from running the same job for the same instant again. A claim whose process died
    (its claim ran out without a heartbeat) or whose run failed may be taken over; the attempt
    counter says how often that happened.
    """

    __tablename__ = "job_runs"
    __table_args__ = (sa.UniqueConstraint("job_id", "scheduled_for"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    job_id: Mapped[str] = mapped_column(sa.String(64))
    # The programme-time instant the run is for (the trigger's fire time, not when it started).
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(16))
    attempt: Mapped[int] = mapped_column(default=1)
    holder: Mapped[str] = mapped_column(sa.String(120))     # host:pid:nonce of the running process
    # Wall-clock times (operational, even when the programme runs on a simulated clock).
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Until when the claim holds without a heartbeat; after that another process may take it over.
    claim_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    summary: Mapped[dict | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)
