"""Scheduler, the process (``wzcheckin scheduler``): the only process that runs scheduled jobs.

APScheduler 3 as its authors intend it: a ``BlockingScheduler`` with its in-memory job store,
filled at start-up from the job specs every room declares (``<room>/jobs.py``). Web workers never
run jobs. Run one beside gunicorn; a second one, started by mistake or on a second host for
availability, is harmless:

* every run is claimed first in ``job_runs`` (UNIQUE job and scheduled instant, see ``runs.py``),
  so when two schedulers fire the same job for the same instant, one runs it and the other
  finds it claimed;
* a **catch-up** runs what is due and has not run: at start-up (a scheduler that was down when
  the cutoff came runs it when it starts, within the job's misfire grace; a run that failed is
  tried again), and on a sweep every few seconds, which also takes over a run whose process died
  (its claim stopped being renewed: the other scheduler finishes a killed cutoff, which resumes).

Time: jobs see the programme's clock (``wzcheckin.clock``), so a replay on a simulated clock runs
the cutoff when the *simulated* cutoff comes: each trigger is shifted by the difference between
the simulated and the real clock; when the clock file is rewritten (moved), the jobs are
scheduled again and the catch-up runs what the jump made due.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta

import sqlalchemy as sa
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask

from wzcheckin import clock
from wzcheckin.core.job_specs import JobSpec
from wzcheckin.extensions import db
from wzcheckin.rooms import all_jobs
from wzcheckin.scheduler.runs import DEFAULT_CLAIM_SECONDS, due_runs, new_holder, run_job, wall_now
from wzcheckin.scheduler.triggers import ShiftedTrigger, build_trigger, latest_fire_time

log = logging.getLogger("wzcheckin.scheduler")

_NOT_SCHEDULED = object()  # before the first sweep has scheduled the jobs

DEFAULT_SWEEP_SECONDS = 15.0
# A trigger fires at or after its instant; on a simulated clock the two clocks are read a moment
# apart, so the instant a fire is for is looked up this much later.
FIRE_TOLERANCE = timedelta(seconds=1)
# The catch-up leaves an instant this fresh to its trigger (no race between the two to log).
CATCH_UP_SETTLE = timedelta(seconds=5)


def declared_jobs() -> list[JobSpec]:
    """Every room's jobs (``Room.jobs``), in the rooms' order."""
    return all_jobs()


def clock_offset_seconds(app: Flask) -> float:
    """Simulated minus real time, when the app runs on a simulated clock; else 0."""
    app_clock = app.extensions["wzcheckin.clock"]
    if not isinstance(app_clock, clock.SimulatedClock):
        return 0.0
    return (app_clock.now() - wall_now()).total_seconds()


def clock_signature(app: Flask) -> tuple | None:
    """What changes when a simulated clock is moved (its file rewritten); None on real time."""
    app_clock = app.extensions["wzcheckin.clock"]
    if not isinstance(app_clock, clock.SimulatedClock):
        return None
    return app_clock.path.read_text(encoding="utf-8"), app_clock.path.stat().st_mtime_ns


class SchedulerProcess:
    def __init__(self, app: Flask, specs: list[JobSpec], *, claim: timedelta, sweep_seconds: float,
                 max_workers: int = 4):
        self.app = app
        self.specs = {spec.id: spec for spec in specs}
        self.claim = claim
        self.sweep_seconds = sweep_seconds
        self.holder = new_holder()
        self.programme = app.extensions["wzcheckin.programme"]
        with app.app_context():
            self.engine = db.engine
        self.clock_signature = _NOT_SCHEDULED
        self.caught_up = False  # the first catch-up also retries failed runs
        # No job store given: APScheduler's in-memory one, this process's own.
        self.scheduler = BlockingScheduler(
            executors={"default": ThreadPoolExecutor(max_workers)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=self.programme.tz,
        )

    # --- what APScheduler calls -------------------------------------------------------------

    def fire(self, job_id: str) -> None:
        """A trigger fired: run the job for the instant it fired for."""
        spec = self.specs[job_id]
        now = self.app.extensions["wzcheckin.clock"].now()
        instant = latest_fire_time(spec, self.programme, now + FIRE_TOLERANCE)
        if instant is None:
            log.warning("job %s: fired before its instant by the programme's clock; not run", job_id)
            return
        self.run(job_id, instant)

    def run(self, job_id: str, instant) -> None:
        try:
            run_job(self.app, self.specs[job_id], holder=self.holder, claim=self.claim, scheduled_for=instant)
        except sa.exc.SQLAlchemyError as exc:  # no claim could be written: the catch-up runs it later
            log.warning("job %s for %s: database unavailable (%s); the catch-up will run it",
                        job_id, instant.isoformat(), type(exc).__name__)

    def sweep(self) -> None:
        """The catch-up (see the module docstring), and re-scheduling after a simulated clock moved."""
        try:
            signature = clock_signature(self.app)
            if signature != self.clock_signature:
                if self.clock_signature is not _NOT_SCHEDULED:
                    log.info("the simulated clock was moved: scheduling the jobs again")
                self.schedule()
                self.clock_signature = signature
            now = self.app.extensions["wzcheckin.clock"].now()
            due = due_runs(self.engine, list(self.specs.values()), self.programme, now,
                           retry_failed=not self.caught_up, settle=CATCH_UP_SETTLE)
        except sa.exc.SQLAlchemyError as exc:  # the database is away: the next sweep tries again
            log.warning("scheduler %s: cannot reach the database (%s); retrying in %.0f s", self.holder,
                        type(exc).__name__, self.sweep_seconds)
            return
        self.caught_up = True
        for spec, instant in due:
            log.info("job %s for %s: due and not run; catching up", spec.id, instant.isoformat())
            self.scheduler.add_job(self.run, args=[spec.id, instant], id=f"catch-up:{spec.id}",
                                   name=f"catch-up {spec.id}", misfire_grace_time=None, replace_existing=True)

    # --- set-up ----------------------------------------------------------------------------------

    def schedule(self) -> None:
        """Add (or replace) every declared job with its trigger, shifted onto real time when the
        programme runs on a simulated clock. A date already past is left to the catch-up."""
        offset = clock_offset_seconds(self.app)
        if offset:
            log.info("simulated clock: programme time is %+.0f s from real time", offset)
        real_now = wall_now()
        for spec in self.specs.values():
            trigger = build_trigger(spec, self.programme)
            if offset:
                trigger = ShiftedTrigger(trigger, offset)
            first = trigger.get_next_fire_time(None, real_now)
            if first is None or first < real_now:
                if self.scheduler.get_job(spec.id) is not None:
                    self.scheduler.remove_job(spec.id)
                continue
            self.scheduler.add_job(self.fire, trigger=trigger, args=[spec.id], id=spec.id,
                                   name=spec.description or spec.id, next_run_time=first,
                                   misfire_grace_time=spec.misfire_grace_time, coalesce=spec.coalesce,
                                   max_instances=spec.max_instances, replace_existing=True)

    def serve(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set (SIGTERM and SIGINT set it). A job running then finishes."""
        log.info("scheduler %s: %d job(s): %s", self.holder, len(self.specs), ", ".join(self.specs))
        # The first sweep, at once, is the start-up catch-up (it also schedules the jobs).
        self.scheduler.add_job(self.sweep, "interval", seconds=self.sweep_seconds, id="scheduler.sweep",
                               name="catch-up sweep", next_run_time=wall_now(), misfire_grace_time=None)

        def _stop_when_asked():
            stop.wait()
            while not self.scheduler.running and not done.wait(0.05):
                pass  # asked to stop while starting: wait until there is something to stop
            if self.scheduler.running:
                self.scheduler.shutdown(wait=True)   # no new runs; the ones under way finish

        done = threading.Event()
        watcher = threading.Thread(target=_stop_when_asked, name="scheduler-stop", daemon=True)
        watcher.start()
        log.info("scheduler %s: running", self.holder)
        try:
            if not stop.is_set():
                self.scheduler.start()   # blocks until shut down
        finally:
            done.set()
        if stop.is_set():
            watcher.join()   # until the runs under way have finished
        log.info("scheduler %s: stopped", self.holder)


def run_scheduler(app: Flask, *, claim_seconds: float = DEFAULT_CLAIM_SECONDS,
                  sweep_seconds: float = DEFAULT_SWEEP_SECONDS, max_workers: int = 4,
                  stop: threading.Event | None = None) -> None:
    """The scheduler process: every declared job, until stopped."""
    stop = stop or threading.Event()
    # APScheduler says "Running job ..." at INFO for every catch-up sweep; the run log and this
    # package's own lines say what happened.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if threading.current_thread() is threading.main_thread():
        def _on_signal(signum, _frame):
            log.info("signal %s: stopping", signum)
            stop.set()

        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
    process = SchedulerProcess(app, declared_jobs(), claim=timedelta(seconds=claim_seconds),
                               sweep_seconds=sweep_seconds, max_workers=max_workers)
    process.serve(stop)
