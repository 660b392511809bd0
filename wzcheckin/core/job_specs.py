"""Core, scheduled jobs as rooms declare them: ``JOBS = [JobSpec(...)]`` in ``<room>/jobs.py`` (this
module is not itself called ``jobs``: that name marks a room's declarations).

A room only declares its jobs; the scheduler package (``wzcheckin.scheduler``, which sits above
the rooms) runs them, in its own process. The type lives here, on the ground floor, so a room
declares jobs without importing the scheduler.

A job's function takes ``(session, programme, now)``, does its work through domain functions and
returns a JSON-able summary (or None). The scheduler opens the unit of work around it, unless the
spec says ``own_transactions``: then the function commits its own steps, like the cutoff, which
works in resumable chunks.

Trigger arguments may name programme fields: a string ``"programme:<dotted.path>"`` is read from
the programme file when the scheduler starts, e.g. ``{"run_date": "programme:cutoff"}`` or
``{"hour": "programme:sms.reminder_hour_local"}``. Cron and interval triggers run in the
programme's timezone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy.orm import Session

# Where the scheduler package puts its run-log reader on the app (see ``recent_runs``).
RUN_LOG_READER = "wzcheckin.job_run_log"


@dataclass(frozen=True)
class JobSpec:
    id: str                      # stable: the run log (job_runs) keys on it
    func: Callable               # (session, programme, now) -> dict | None
    trigger: str                 # "date", "interval" or "cron" (APScheduler 3 trigger names)
    trigger_args: dict = field(default_factory=dict)  # may name programme fields, see above
    description: str = ""
    # Seconds after its scheduled instant a run may still start, also when a scheduler starts
    # late and catches up (None: however late).
    misfire_grace_time: int | None = 3600
    coalesce: bool = True        # several missed runs run once (the latest)
    max_instances: int = 1
    own_transactions: bool = False  # the function commits its own steps (resumable jobs)


def recent_runs(session: Session, limit: int = 20) -> list:
    """The latest run of each scheduled job (rows with ``job_id``, ``scheduled_for``, ``status``,
    ``attempt``, ``started_at``, ``finished_at``), for the officials' pages.

    Read through the function the scheduler package registers on the app: a room may show the run
    log without importing the package above it.
    """
    return current_app.extensions[RUN_LOG_READER](session, limit)
