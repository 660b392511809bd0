"""The scheduler: runs the jobs every room declares (``wzcheckin.core.job_specs.JobSpec`` in
``<room>/jobs.py``), in a process of its own (``wzcheckin scheduler``), never in web workers.

==================  ==========================================================================
``models.py``       its table, ``job_runs``: run claims and the run log
``triggers.py``     a job spec's trigger in programme time; the instant a run is for
``runs.py``         claiming, running and logging one run; the catch-up's due runs
``process.py``      the process: APScheduler 3 with an in-memory job store, the catch-up sweep
``cli.py``          ``wzcheckin scheduler [--once JOB_ID | --list]``
==================  ==========================================================================

The package sits above the rooms: rooms never import it (they declare jobs with core's
``JobSpec`` and read the run log through ``core.job_specs.recent_runs``).
"""

from __future__ import annotations

from flask import Flask

from wzcheckin.core.job_specs import RUN_LOG_READER
from wzcheckin.scheduler.runs import recent_job_runs


def init_app(app: Flask) -> None:
    """Give the rooms' pages the run log (``core.job_specs.recent_runs``)."""
    app.extensions[RUN_LOG_READER] = recent_job_runs
