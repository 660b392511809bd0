"""The scheduler process (``wzcheckin scheduler``): the only process that runs scheduled jobs.

APScheduler 3's ``BlockingScheduler`` with a ``SQLAlchemyJobStore`` on the app's database. Jobs
come from every room's ``Room(jobs=...)`` (``wzcheckin.rooms.all_jobs()``). Run exactly one beside
gunicorn; web workers never run jobs.

Two guards make "a second scheduler started by mistake" harmless, on PostgreSQL and SQLite alike:

1. **An active-scheduler lease** (``scheduler_leases``): a scheduler works only while it holds the
   lease, renewing it every few seconds; others stand by and take over when it stops renewing
   (process killed, host gone). APScheduler 3 does not support two schedulers sharing one job
   store, so only the lease holder touches it.
2. **A claimed run row** (``job_runs``, UNIQUE (job_id, scheduled_for)): before a job runs, its
   run for that scheduled instant is inserted in its own committed transaction; whoever fails to
   insert does not run it. The claim carries its own lease, renewed while the job runs, so a
   run whose process died can be taken over (and resumed: the cutoff is resumable), and a failed
   run can be retried. ``wzcheckin scheduler --once JOB_ID`` claims the same way.

Each run is logged in ``job_runs`` (start, end, outcome, summary or error).

Time: jobs see the programme's clock (``wzcheckin.clock``), so a replay on a simulated clock
runs the cutoff when the *simulated* cutoff comes: each trigger is shifted by the difference
between the simulated and the real clock. Leases and run-log times use the real clock: they are
about processes, not about the programme.
"""

from __future__ import annotations

import importlib
import logging
import os
import pickle
import secrets
import signal
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from wzcheckin import clock
from wzcheckin.db import SQLITE_WRITE_OPTION, is_unique_violation, unit_of_work
from wzcheckin.extensions import db
from wzcheckin.programme import Programme
from wzcheckin.rooms import all_jobs
from wzcheckin.scheduling import APSCHEDULER_JOBS, JobRun, JobRunStatus, JobSpec, SchedulerLease

log = logging.getLogger("wzcheckin.scheduler")

LEASE_NAME = "scheduler"
DEFAULT_LEASE_SECONDS = 30
MAX_ERROR_LENGTH = 4000


def wall_now() -> datetime:
    """Real time, for leases and the run log (see the module docstring)."""
    return clock.SystemClock().now()


def new_holder() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def _write(engine: sa.Engine):
    """A connection whose transactions take SQLite's write lock up front (BEGIN IMMEDIATE)."""
    return engine.connect().execution_options(**{SQLITE_WRITE_OPTION: True})


# --- triggers -------------------------------------------------------------------------------

def resolve_argument(programme: Programme, value):
    """``"programme:<dotted.path>"`` → that programme field; anything else unchanged."""
    if isinstance(value, str) and value.startswith("programme:"):
        target = programme
        for part in value.removeprefix("programme:").split("."):
            target = getattr(target, part)
        return target
    return value


def build_trigger(spec: JobSpec, programme: Programme) -> BaseTrigger:
    """The job's trigger in programme time (not shifted)."""
    args = {key: resolve_argument(programme, value) for key, value in spec.trigger_args.items()}
    if spec.trigger == "date":
        return DateTrigger(timezone=programme.tz, **args)
    if spec.trigger == "cron":
        return CronTrigger(timezone=programme.tz, **args)
    if spec.trigger == "interval":
        # A fixed start makes the fire times the same in every process (run claims key on them).
        args.setdefault("start_date", programme.local_day_start(programme.programme.starts))
        return IntervalTrigger(timezone=programme.tz, **args)
    raise ValueError(f"job {spec.id}: unknown trigger {spec.trigger!r}")


class ShiftedTrigger(BaseTrigger):
    """A trigger in programme time, fired by a scheduler that runs on real time: fire times are
    moved by ``offset`` (simulated now − real now). Used only with a simulated clock."""

    __slots__ = ("inner", "offset_seconds")

    def __init__(self, inner: BaseTrigger, offset_seconds: float):
        self.inner = inner
        self.offset_seconds = offset_seconds

    def get_next_fire_time(self, previous_fire_time, now):
        offset = timedelta(seconds=self.offset_seconds)
        previous = previous_fire_time + offset if previous_fire_time else None
        fire = self.inner.get_next_fire_time(previous, now + offset)
        return fire - offset if fire else None

    def __getstate__(self):
        return {"version": 1, "inner": self.inner, "offset_seconds": self.offset_seconds}

    def __setstate__(self, state):
        self.inner = state["inner"]
        self.offset_seconds = state["offset_seconds"]

    def __str__(self):
        return f"shifted[{self.offset_seconds:+.3f}s]({self.inner})"


def latest_fire_time(spec: JobSpec, programme: Programme, now: datetime) -> datetime | None:
    """The scheduled instant a run started now is for: the trigger's latest fire time at or
    before ``now`` (programme time), or None if it has not fired yet."""
    trigger = build_trigger(spec, programme)
    if isinstance(trigger, DateTrigger):
        return trigger.run_date if trigger.run_date <= now else None
    lookback = trigger.interval if isinstance(trigger, IntervalTrigger) else timedelta(days=8)
    fire = trigger.get_next_fire_time(None, now - lookback)
    latest = None
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire)
    return latest.astimezone(UTC) if latest else None


# --- run claims -------------------------------------------------------------------------------

def claim_run(engine: sa.Engine, job_id: str, scheduled_for: datetime, holder: str, lease: timedelta) -> int | None:
    """Claim (job, scheduled instant) for this process; None if somebody else has it or it is done.

    A fresh claim is an INSERT (UNIQUE decides a race). An existing claim is taken over only if
    its run failed or its holder stopped renewing the lease: a conditional UPDATE, so at most one
    taker wins.
    """
    started = wall_now()
    table = JobRun.__table__
    with _write(engine) as connection:
        try:
            with connection.begin():
                return connection.execute(
                    sa.insert(table).values(job_id=job_id, scheduled_for=scheduled_for, status=JobRunStatus.RUNNING,
                                            attempt=1, holder=holder, started_at=started,
                                            lease_expires_at=started + lease).returning(table.c.id)
                ).scalar_one()
        except sa.exc.IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
        with connection.begin():
            taken = connection.execute(
                sa.update(table)
                .where(table.c.job_id == job_id, table.c.scheduled_for == scheduled_for,
                       sa.or_(table.c.status == JobRunStatus.FAILED,
                              sa.and_(table.c.status == JobRunStatus.RUNNING, table.c.lease_expires_at < started)))
                .values(status=JobRunStatus.RUNNING, attempt=table.c.attempt + 1, holder=holder, started_at=started,
                        finished_at=None, lease_expires_at=started + lease, error=None, summary=None)
                .returning(table.c.id)
            ).scalar_one_or_none()
    return taken


def finish_run(engine: sa.Engine, run_id: int, holder: str, *, status: str, summary: dict | None = None,
               error: str | None = None) -> None:
    table = JobRun.__table__
    with _write(engine) as connection, connection.begin():
        connection.execute(
            sa.update(table).where(table.c.id == run_id, table.c.holder == holder)
            .values(status=status, finished_at=wall_now(), summary=summary,
                    error=error[:MAX_ERROR_LENGTH] if error else None)
        )


class RunHeartbeat:
    """Extends a claimed run's lease while the job runs, from a thread of its own."""

    def __init__(self, engine: sa.Engine, run_id: int, holder: str, lease: timedelta):
        self.engine, self.run_id, self.holder, self.lease = engine, run_id, holder, lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-run-{run_id}", daemon=True)

    def _beat(self) -> None:
        table = JobRun.__table__
        interval = max(self.lease.total_seconds() / 3, 0.2)
        while not self._stop.wait(interval):
            try:
                with _write(self.engine) as connection, connection.begin():
                    connection.execute(sa.update(table).where(table.c.id == self.run_id, table.c.holder == self.holder)
                                       .values(lease_expires_at=wall_now() + self.lease))
            except sa.exc.SQLAlchemyError as exc:  # the next beat may succeed; the job goes on
                log.warning("run %s: lease renewal failed: %s", self.run_id, type(exc).__name__)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_exc):
        self._stop.set()
        self._thread.join(timeout=10)


# --- running one job ------------------------------------------------------------------------------

def import_function(reference: str):
    module_name, _, name = reference.partition(":")
    return getattr(importlib.import_module(module_name), name)


def run_job_now(app: Flask, spec: JobSpec, *, holder: str, lease: timedelta,
                scheduled_for: datetime | None = None) -> dict:
    """Claim and run one job in an app context of its own; returns the outcome.

    ``outcome``: "succeeded", "failed", "already_claimed" (another process has or had this run)
    or "not_due" (the trigger has not fired yet in programme time).
    """
    with app.app_context():
        programme = app.extensions["wzcheckin.programme"]
        now = clock.now()
        scheduled_for = scheduled_for or latest_fire_time(spec, programme, now)
        result = {"job": spec.id, "scheduled_for": scheduled_for.isoformat() if scheduled_for else None}
        if scheduled_for is None:
            return {**result, "outcome": "not_due"}
        engine = db.engine
        run_id = claim_run(engine, spec.id, scheduled_for, holder, lease)
        if run_id is None:
            log.info("job %s for %s: already claimed or done elsewhere; not run", spec.id, scheduled_for.isoformat())
            return {**result, "outcome": "already_claimed"}
        log.info("job %s for %s: started (run %s)", spec.id, scheduled_for.isoformat(), run_id)
        with RunHeartbeat(engine, run_id, holder, lease):
            try:
                function = import_function(spec.func)
                if spec.own_transactions:
                    summary = function(db.session, programme, now)
                else:
                    with unit_of_work(db.session):
                        summary = function(db.session, programme, now)
            except Exception as exc:
                db.session.rollback()
                log.exception("job %s for %s: failed", spec.id, scheduled_for.isoformat())
                finish_run(engine, run_id, holder, status=JobRunStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
                return {**result, "outcome": "failed", "run_id": run_id, "error": type(exc).__name__}
            finally:
                db.session.remove()
        summary = _jsonable(summary)
        finish_run(engine, run_id, holder, status=JobRunStatus.SUCCEEDED, summary=summary)
        log.info("job %s for %s: succeeded (run %s)", spec.id, scheduled_for.isoformat(), run_id)
        return {**result, "outcome": "succeeded", "run_id": run_id, "summary": summary}


def _jsonable(value):
    import json

    return json.loads(json.dumps(value, default=str)) if value is not None else None


@dataclass
class _Runtime:
    app: Flask
    specs: dict[str, JobSpec]
    holder: str
    lease: timedelta


_RUNTIME: _Runtime | None = None


def execute_job(job_id: str) -> None:
    """What APScheduler calls (by this module path, stored in the job store)."""
    runtime = _RUNTIME
    if runtime is None or job_id not in runtime.specs:
        log.error("job %s: not known to this scheduler process; skipped", job_id)
        return
    run_job_now(runtime.app, runtime.specs[job_id], holder=runtime.holder, lease=runtime.lease)


# --- the lease -------------------------------------------------------------------------------------

class Lease:
    """The active-scheduler lease (see the module docstring). Conditional UPDATEs decide."""

    def __init__(self, engine: sa.Engine, holder: str, seconds: float):
        self.engine, self.holder, self.duration = engine, holder, timedelta(seconds=seconds)

    def try_acquire(self) -> bool:
        table = SchedulerLease.__table__
        now = wall_now()
        with _write(self.engine) as connection:
            with connection.begin():
                taken = connection.execute(
                    sa.update(table).where(table.c.name == LEASE_NAME,
                                           sa.or_(table.c.holder == self.holder, table.c.expires_at < now))
                    .values(holder=self.holder, acquired_at=now, expires_at=now + self.duration)
                ).rowcount
            if taken:
                return True
            try:
                with connection.begin():
                    connection.execute(sa.insert(table).values(name=LEASE_NAME, holder=self.holder, acquired_at=now,
                                                               expires_at=now + self.duration))
                return True
            except sa.exc.IntegrityError as exc:
                if not is_unique_violation(exc):
                    raise
                return False

    def renew(self) -> bool:
        table = SchedulerLease.__table__
        with _write(self.engine) as connection, connection.begin():
            return bool(connection.execute(
                sa.update(table).where(table.c.name == LEASE_NAME, table.c.holder == self.holder)
                .values(expires_at=wall_now() + self.duration)
            ).rowcount)

    def release(self) -> None:
        table = SchedulerLease.__table__
        with _write(self.engine) as connection, connection.begin():
            connection.execute(sa.delete(table).where(table.c.name == LEASE_NAME, table.c.holder == self.holder))

    def current_holder(self) -> str | None:
        table = SchedulerLease.__table__
        with self.engine.connect() as connection:
            return connection.execute(sa.select(table.c.holder).where(table.c.name == LEASE_NAME)).scalar()


# --- the process -------------------------------------------------------------------------------------

def clock_offset_seconds(app: Flask) -> float:
    """Simulated minus real time, when the app runs on a simulated clock; else 0."""
    app_clock = app.extensions["wzcheckin.clock"]
    if not isinstance(app_clock, clock.SimulatedClock):
        return 0.0
    return round((app_clock.now() - wall_now()).total_seconds(), 3)


def _stored_jobs(engine: sa.Engine) -> dict[str, dict]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(APSCHEDULER_JOBS.c.id, APSCHEDULER_JOBS.c.job_state)).all()
    stored = {}
    for job_id, state in rows:
        try:
            stored[job_id] = pickle.loads(state)  # noqa: S301 - written by this scheduler's job store
        except Exception:  # an unreadable job (older code): replace it
            stored[job_id] = {}
    return stored


def _succeeded(engine: sa.Engine, job_id: str, scheduled_for: datetime) -> bool:
    with engine.connect() as connection:
        return connection.execute(
            sa.select(JobRun.__table__.c.id).where(JobRun.__table__.c.job_id == job_id,
                                                   JobRun.__table__.c.scheduled_for == scheduled_for,
                                                   JobRun.__table__.c.status == JobRunStatus.SUCCEEDED)
        ).first() is not None


def sync_jobs(scheduler: BlockingScheduler, engine: sa.Engine, specs: list[JobSpec], programme: Programme,
              offset_seconds: float) -> list[str]:
    """Bring the job store in line with the code's job specs before the scheduler starts.

    A job whose trigger is unchanged keeps its stored next run time, so a run missed while the
    scheduler was down still happens when it starts (within its misfire grace time). A date job
    whose run has succeeded is not added again. Jobs no longer declared are removed.
    """
    stored = _stored_jobs(engine)
    wanted = []
    for spec in specs:
        trigger = build_trigger(spec, programme)
        if isinstance(trigger, DateTrigger) and _succeeded(engine, spec.id, trigger.run_date.astimezone(UTC)):
            continue
        if offset_seconds:
            trigger = ShiftedTrigger(trigger, offset_seconds)
        wanted.append(spec.id)
        state = stored.get(spec.id, {})
        unchanged = (state.get("func") == "wzcheckin.scheduler:execute_job" and state.get("args") == (spec.id,)
                     and str(state.get("trigger")) == str(trigger)
                     and state.get("misfire_grace_time") == spec.misfire_grace_time
                     and state.get("coalesce") == spec.coalesce and state.get("max_instances") == spec.max_instances)
        if unchanged:
            continue
        scheduler.add_job("wzcheckin.scheduler:execute_job", trigger=trigger, args=[spec.id], id=spec.id,
                          name=spec.description or spec.id, misfire_grace_time=spec.misfire_grace_time,
                          coalesce=spec.coalesce, max_instances=spec.max_instances, replace_existing=True)
    stale = [job_id for job_id in stored if job_id not in wanted]
    if stale:
        with _write(engine) as connection, connection.begin():
            connection.execute(sa.delete(APSCHEDULER_JOBS).where(APSCHEDULER_JOBS.c.id.in_(stale)))
    return wanted


def run_scheduler(app: Flask, *, lease_seconds: float = DEFAULT_LEASE_SECONDS, poll_seconds: float | None = None,
                  max_workers: int = 4, stop: threading.Event | None = None) -> None:
    """Stand by until this process holds the lease, then run jobs until stopped or the lease is lost."""
    global _RUNTIME
    stop = stop or threading.Event()
    holder = new_holder()
    poll = poll_seconds if poll_seconds is not None else max(lease_seconds / 3, 0.5)
    with app.app_context():
        engine = db.engine
        programme = app.extensions["wzcheckin.programme"]
    specs = all_jobs()
    _RUNTIME = _Runtime(app, {spec.id: spec for spec in specs}, holder, timedelta(seconds=lease_seconds))
    lease = Lease(engine, holder, lease_seconds)
    current: dict[str, BlockingScheduler | None] = {"scheduler": None}

    def _on_signal(signum, _frame):
        log.info("signal %s: stopping", signum)
        stop.set()
        scheduler = current["scheduler"]
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)

    log.info("scheduler %s: %d job(s): %s", holder, len(specs), ", ".join(spec.id for spec in specs))
    standing_by = False
    while not stop.is_set():
        try:
            acquired = lease.try_acquire()
        except sa.exc.SQLAlchemyError as exc:  # the database is away: wait for it
            log.warning("scheduler %s: cannot reach the database (%s); retrying", holder, type(exc).__name__)
            stop.wait(poll)
            continue
        if not acquired:
            if not standing_by:
                log.info("scheduler %s: another scheduler is active (%s); standing by", holder, lease.current_holder())
                standing_by = True
            stop.wait(poll)
            continue
        standing_by = False
        log.info("scheduler %s: active", holder)
        # The job store's transactions take SQLite's write lock up front, like every writer here.
        store_engine = engine.execution_options(**{SQLITE_WRITE_OPTION: True})
        scheduler = BlockingScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=store_engine, tablename=APSCHEDULER_JOBS.name)},
            executors={"default": ThreadPoolExecutor(max_workers)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=programme.tz,
            jobstore_retry_interval=5,
        )
        offset = clock_offset_seconds(app)
        if offset:
            log.info("simulated clock: programme time is %+.0f s from real time", offset)
        sync_jobs(scheduler, engine, specs, programme, offset)
        current["scheduler"] = scheduler
        beat = threading.Thread(target=_keep_lease, args=(lease, scheduler, stop), name="scheduler-lease", daemon=True)
        beat.start()
        try:
            scheduler.start()   # blocks until shutdown (a signal, or the lease lost)
        finally:
            current["scheduler"] = None
            if scheduler.running:
                scheduler.shutdown(wait=False)
        beat.join(timeout=lease_seconds)
        if stop.is_set():
            break
        log.warning("scheduler %s: lease lost; standing by", holder)
    try:
        lease.release()
    except sa.exc.SQLAlchemyError:
        log.warning("scheduler %s: could not release the lease (it expires by itself)", holder)
    log.info("scheduler %s: stopped", holder)


def _keep_lease(lease: Lease, scheduler: BlockingScheduler, stop: threading.Event) -> None:
    interval = max(lease.duration.total_seconds() / 3, 0.2)
    failures = 0
    while not stop.wait(interval):
        if not scheduler.running:
            return
        try:
            if lease.renew():
                failures = 0
                continue
            log.error("scheduler %s: another process holds the lease now", lease.holder)
        except sa.exc.SQLAlchemyError as exc:
            failures += 1
            log.warning("scheduler %s: lease renewal failed (%s)", lease.holder, type(exc).__name__)
            if failures * interval < lease.duration.total_seconds() * 2 / 3:
                continue  # keep working while the lease is surely still ours
        if scheduler.running:
            scheduler.shutdown(wait=False)
        return
