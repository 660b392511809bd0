"""Scheduled jobs: what rooms declare in ``<room>/jobs.py`` as ``JOBS = [JobSpec(...)]``.

Only the scheduler process (``wzcheckin scheduler``) runs them; web workers never do. A job's
function takes ``(session, programme, now)``, does its work through domain functions and returns
a JSON-able summary; the scheduler opens the unit of work around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class JobSpec:
    id: str                      # stable: the job store and the run log key on it
    func: str                    # "module:function"
    trigger: str                 # "date", "interval" or "cron" (APScheduler 3 trigger names)
    trigger_args: dict = field(default_factory=dict)  # may name programme fields, see the scheduler
    description: str = ""


def all_jobs() -> list[JobSpec]:
    from wzcheckin.rooms import room_modules

    return [job for module in room_modules("jobs") for job in module.JOBS]
