"""Scanning room, scheduled jobs: the monthly partitions of ``scans`` ahead of time (PostgreSQL;
a no-op on SQLite). Run by the scheduler process only (``wzcheckin.scheduler``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from wzcheckin.core.job_specs import JobSpec
from wzcheckin.programme import Programme
from wzcheckin.scanning.partitions import ensure_scan_partitions


def create_scan_partitions(session: Session, programme: Programme, now: datetime) -> dict:
    """This month's and the next months' partitions of ``scans``, created when missing."""
    return {"created": ensure_scan_partitions(session, now)}


JOBS = (
    JobSpec(id="scanning.create_scan_partitions", func=create_scan_partitions,
            trigger="cron", trigger_args={"hour": 3, "minute": 17},
            description="Create the monthly partitions of the scans table ahead of time (PostgreSQL)"),
)
