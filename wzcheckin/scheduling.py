"""Scheduled jobs: what rooms declare as ``Room(jobs=...)`` (``JobSpec``; ``rooms.all_jobs()``
gathers them), and the tables the scheduler process keeps in the app's database.

Only the scheduler process (``wzcheckin scheduler``, see ``wzcheckin/scheduler.py``) runs jobs;
web workers never do. A job's function takes ``(session, programme, now)``, does its work
through domain functions and returns a JSON-able summary; the scheduler opens the unit of work
around it (unless the spec says ``own_transactions``: then the function commits its own steps,
like the cutoff, which works in resumable chunks).

Trigger arguments may name programme fields: a string ``"programme:<dotted.path>"`` is read
from the programme file when the scheduler starts, e.g. ``{"run_date": "programme:cutoff"}`` or
``{"hour": "programme:sms.reminder_hour_local"}``. Cron and interval triggers run in the
programme's timezone.

Tables (all created by Alembic migrations, never by the scheduler):

* ``apscheduler_jobs`` — APScheduler 3's SQLAlchemy job store (its own layout, declared here so
  the schema has one owner; the job store's "create if missing" then finds it present);
* ``job_runs`` — one row per (job, scheduled instant): claimed before the job runs, so a job
  never runs twice for the same instant, and its start, end and outcome are logged;
* ``scheduler_leases`` — which scheduler process is the active one (the others stand by).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from wzcheckin.db import Base, BigIntPK, UTCDateTime


@dataclass(frozen=True)
class JobSpec:
    id: str                      # stable: the job store and the run log key on it
    func: str                    # "module:function"
    trigger: str                 # "date", "interval" or "cron" (APScheduler 3 trigger names)
    trigger_args: dict = field(default_factory=dict)  # may name programme fields, see above
    description: str = ""
    # Seconds after its scheduled instant a run may still start (None: however late).
    misfire_grace_time: int | None = 3600
    coalesce: bool = True        # several missed runs run once
    max_instances: int = 1
    own_transactions: bool = False  # the function commits its own steps (resumable jobs)


# --- tables -------------------------------------------------------------------------------

# APScheduler 3's job store table, exactly as ``SQLAlchemyJobStore`` declares it (id Unicode(191),
# next_run_time Float(25) indexed, job_state LargeBinary). Pickled job state: only the scheduler
# reads it.
APSCHEDULER_JOBS = sa.Table(
    "apscheduler_jobs",
    Base.metadata,
    sa.Column("id", sa.Unicode(191), primary_key=True),
    sa.Column("next_run_time", sa.Float(25), index=True),
    sa.Column("job_state", sa.LargeBinary, nullable=False),
)


class JobRunStatus:
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobRun(Base):
    """One run of a scheduled job for one scheduled instant, claimed before it starts.

    UNIQUE (job_id, scheduled_for) is what stops a second scheduler (or a hand-started
    ``--once``) from running the same job for the same instant again. A claim whose process
    died (its lease ran out without a heartbeat) or whose run failed may be taken over; the
    attempt counter says how often that happened.
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
    lease_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    summary: Mapped[dict | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)


class SchedulerLease(Base):
    """The active scheduler: one row per lease name, held by renewing ``expires_at``.

    APScheduler 3 does not support two schedulers sharing one job store (each would fire and
    then update or delete the same rows), so a second ``wzcheckin scheduler`` waits here until
    the holder stops renewing, then takes over.
    """

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(120))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
