"""Review room, scheduled jobs (run only by ``wzcheckin scheduler``): the risk signals, nightly
and at the cutoff instant."""

from __future__ import annotations

import logging

from wzcheckin.core.job_specs import JobSpec
from wzcheckin.db import unit_of_work
from wzcheckin.review.signals import find_signals, store_signals

log = logging.getLogger("wzcheckin.review.jobs")

def _run(session, programme, now, kind: str) -> dict:
    """Read first, then write: the long read never holds SQLite's write lock (scanners keep
    uploading meanwhile); the run and its signals are then written in one short unit of work."""
    # The cutoff run reads the evidence as it stood at the cutoff, however late the scheduler ran it.
    read_at = min(now, programme.cutoff) if kind == "cutoff" else now
    snapshot_id, findings = find_signals(session, programme, now=read_at, progress=log.info)
    session.rollback()  # end the read transaction before taking the write lock
    with unit_of_work(session):
        run = store_signals(session, programme, now=now, kind=kind, snapshot_id=snapshot_id, findings=findings)
    return {"run_id": run.id, **run.summary}


def nightly_signals_job(session, programme, now) -> dict:
    return _run(session, programme, now, "nightly")


def cutoff_signals_job(session, programme, now) -> dict:
    return _run(session, programme, now, "cutoff")


JOBS = [
    JobSpec(
        id="review.signals_nightly",
        func=nightly_signals_job,
        trigger="cron",
        # After the nightly preview (02:30), so the retained-worker signals read the newest one.
        trigger_args={"hour": 3, "minute": 30},
        description="Risk signals per enterprise (scan bursts, late uploads, night scans, travel, roster)",
        misfire_grace_time=6 * 3600,
        own_transactions=True,
    ),
    JobSpec(
        id="review.signals_cutoff",
        func=cutoff_signals_job,
        trigger="date",
        trigger_args={"run_date": "programme:cutoff"},
        description="Risk signals at the cutoff instant, over all the evidence of the programme",
        misfire_grace_time=7 * 24 * 3600,
        own_transactions=True,
    ),
]
