"""Scheduler, run claims and the run log (``job_runs``): what makes a job run once per scheduled
instant however many scheduler processes fire it.

Before a job runs, its run for that instant is claimed in a committed transaction of its own:
a fresh claim is an INSERT (UNIQUE (job_id, scheduled_for) decides a race), and an existing claim
is taken over only by a conditional UPDATE, when its run failed or its process stopped renewing
the claim (a heartbeat renews it while the job runs). Whoever fails to claim does not run the job.
A run that succeeded is never run again.

Claim and run-log times are real time (they are about processes); the instant a run is for is
programme time (a simulated clock moves it).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from wzcheckin import clock
from wzcheckin.core.job_specs import JobSpec
from wzcheckin.db import SQLITE_WRITE_OPTION, is_unique_violation, unit_of_work
from wzcheckin.extensions import db
from wzcheckin.programme import Programme
from wzcheckin.scheduler.models import JobRun, JobRunStatus
from wzcheckin.scheduler.triggers import latest_fire_time, within_grace

log = logging.getLogger("wzcheckin.scheduler")

DEFAULT_CLAIM_SECONDS = 30
MAX_ERROR_LENGTH = 4000


def wall_now() -> datetime:
    """Real time, for claims and the run log (see the module docstring)."""
    return clock.SystemClock().now()


def new_holder() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def _write(engine: sa.Engine):
    """A connection whose transactions take SQLite's write lock up front (BEGIN IMMEDIATE)."""
    return engine.connect().execution_options(**{SQLITE_WRITE_OPTION: True})


def claim_run(engine: sa.Engine, job_id: str, scheduled_for: datetime, holder: str, claim: timedelta) -> int | None:
    """Claim (job, scheduled instant) for this process; None if somebody else has it or it is done.

    A fresh claim is an INSERT: the UNIQUE constraint decides a race. An existing claim is taken
    over only if its run failed or its holder stopped renewing it: a conditional UPDATE, so at
    most one taker wins.
    """
    started = wall_now()
    table = JobRun.__table__
    with _write(engine) as connection:
        try:
            with connection.begin():
                return connection.execute(
                    sa.insert(table).values(job_id=job_id, scheduled_for=scheduled_for, status=JobRunStatus.RUNNING,
                                            attempt=1, holder=holder, started_at=started,
                                            claim_expires_at=started + claim).returning(table.c.id)
                ).scalar_one()
        except sa.exc.IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
        with connection.begin():
            taken = connection.execute(
                sa.update(table)
                .where(table.c.job_id == job_id, table.c.scheduled_for == scheduled_for,
                       sa.or_(table.c.status == JobRunStatus.FAILED,
                              sa.and_(table.c.status == JobRunStatus.RUNNING, table.c.claim_expires_at < started)))
                .values(status=JobRunStatus.RUNNING, attempt=table.c.attempt + 1, holder=holder, started_at=started,
                        finished_at=None, claim_expires_at=started + claim, error=None, summary=None)
                .returning(table.c.id)
            ).scalar_one_or_none()
    return taken


def finish_run(engine: sa.Engine, run_id: int, holder: str, *, status: str, summary: dict | None = None,
               error: str | None = None) -> None:
    table = JobRun.__table__
    with _write(engine) as connection, connection.begin():
        # Only while the claim is still ours (a conditional UPDATE on the holder).
        connection.execute(
            sa.update(table).where(table.c.id == run_id, table.c.holder == holder)
            .values(status=status, finished_at=wall_now(), summary=summary,
                    error=error[:MAX_ERROR_LENGTH] if error else None)
        )


class RunHeartbeat:
    """Extends a claimed run's claim while the job runs, from a thread of its own."""

    def __init__(self, engine: sa.Engine, run_id: int, holder: str, claim: timedelta):
        self.engine, self.run_id, self.holder, self.claim = engine, run_id, holder, claim
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-run-{run_id}", daemon=True)

    def _beat(self) -> None:
        table = JobRun.__table__
        interval = max(self.claim.total_seconds() / 3, 0.2)
        while not self._stop.wait(interval):
            try:
                with _write(self.engine) as connection, connection.begin():
                    connection.execute(sa.update(table).where(table.c.id == self.run_id, table.c.holder == self.holder)
                                       .values(claim_expires_at=wall_now() + self.claim))
            except sa.exc.SQLAlchemyError as exc:  # the next beat may succeed; the job goes on
                log.warning("run %s: claim renewal failed: %s", self.run_id, type(exc).__name__)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_exc):
        self._stop.set()
        self._thread.join(timeout=10)


def run_job(app: Flask, spec: JobSpec, *, holder: str, claim: timedelta,
            scheduled_for: datetime | None = None) -> dict:
    """Claim and run one job in an app context of its own; returns the outcome.

    ``scheduled_for``: the instant the run is for (default: the trigger's latest fire time by the
    programme's clock). ``outcome``: "succeeded", "failed", "already_claimed" (another process has
    or had this run) or "not_due" (the trigger has not fired yet in programme time).
    """
    with app.app_context():
        programme = app.extensions["wzcheckin.programme"]
        now = clock.now()
        if scheduled_for is None:
            scheduled_for = latest_fire_time(spec, programme, now)
        else:
            now = max(now, scheduled_for)  # a trigger fired on time never runs "before" its instant
        result = {"job": spec.id, "scheduled_for": scheduled_for.isoformat() if scheduled_for else None}
        if scheduled_for is None:
            return {**result, "outcome": "not_due"}
        engine = db.engine
        run_id = claim_run(engine, spec.id, scheduled_for, holder, claim)
        if run_id is None:
            log.debug("job %s for %s: claimed or done elsewhere; not run", spec.id, scheduled_for.isoformat())
            return {**result, "outcome": "already_claimed"}
        log.info("job %s for %s: started (run %s)", spec.id, scheduled_for.isoformat(), run_id)
        with RunHeartbeat(engine, run_id, holder, claim):
            try:
                if spec.own_transactions:
                    summary = spec.func(db.session, programme, now)
                else:
                    with unit_of_work(db.session):
                        summary = spec.func(db.session, programme, now)
            except Exception as exc:
                db.session.rollback()
                log.exception("job %s for %s: failed", spec.id, scheduled_for.isoformat())
                finish_run(engine, run_id, holder, status=JobRunStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
                return {**result, "outcome": "failed", "run_id": run_id, "error": type(exc).__name__}
            finally:
                db.session.remove()
        summary = json.loads(json.dumps(summary, default=str)) if summary is not None else None
        finish_run(engine, run_id, holder, status=JobRunStatus.SUCCEEDED, summary=summary)
        log.info("job %s for %s: succeeded (run %s)", spec.id, scheduled_for.isoformat(), run_id)
        return {**result, "outcome": "succeeded", "run_id": run_id, "summary": summary}


def due_runs(engine: sa.Engine, specs: list[JobSpec], programme: Programme, now: datetime, *,
             retry_failed: bool, settle: timedelta = timedelta(0)) -> list[tuple[JobSpec, datetime]]:
    """The catch-up: each job's latest scheduled instant (at or before ``now``, programme time,
    within the job's misfire grace) that has no run yet, or whose run's process died (its claim
    ran out), or, with ``retry_failed``, whose run failed. Several missed instants of one job
    coalesce into the latest, as APScheduler's ``coalesce`` does; a job with a run under way
    (a live claim, for any instant) waits for it, as ``max_instances=1`` does in one process.
    An instant less than ``settle`` old is left to its trigger, which is claiming it just now."""
    latest = {}
    for spec in specs:
        instant = latest_fire_time(spec, programme, now)
        if instant is not None and now - instant >= settle and within_grace(spec, instant, now):
            latest[spec.id] = (spec, instant)
    if not latest:
        return []
    table = JobRun.__table__
    wall = wall_now()
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(table.c.job_id, table.c.scheduled_for, table.c.status, table.c.claim_expires_at)
            .where(sa.or_(*(sa.and_(table.c.job_id == job_id, table.c.scheduled_for == instant)
                            for job_id, (_spec, instant) in latest.items())))
        ).all()
        under_way = set(connection.scalars(
            sa.select(table.c.job_id).where(table.c.job_id.in_(latest), table.c.status == JobRunStatus.RUNNING,
                                            table.c.claim_expires_at >= wall)
        ))
    runs = {row.job_id: row for row in rows}
    due = []
    for job_id, (spec, instant) in latest.items():
        run = runs.get(job_id)
        if job_id in under_way:
            continue
        if (run is None
                or (run.status == JobRunStatus.RUNNING and run.claim_expires_at < wall)
                or (run.status == JobRunStatus.FAILED and retry_failed)):
            due.append((spec, instant))
    return due


def recent_job_runs(session: Session, limit: int = 20) -> list[JobRun]:
    """The latest run of each job (the every-minute dispatcher would crowd out the rest)."""
    latest = sa.select(sa.func.max(JobRun.id)).group_by(JobRun.job_id)
    return list(session.scalars(sa.select(JobRun).where(JobRun.id.in_(latest))
                                .order_by(JobRun.job_id).limit(limit)))
