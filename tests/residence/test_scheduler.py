"""The scheduler process: triggers in programme time, run claims (one run per job and instant,
across processes), the run log, and two ``wzcheckin scheduler`` processes at once."""

import json
import os
import signal
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tests.residence.builders import bulk_workers, make_site
from tests.residence.conftest import start_wzcheckin, wzcheckin
from tests.support.clock import at
from wzcheckin.config import DEFAULT_PROGRAMME
from wzcheckin.programme import load_programme
from wzcheckin.residence.models import Snapshot
from wzcheckin.rooms import all_jobs
from wzcheckin.scheduler import (
    Lease,
    ShiftedTrigger,
    build_trigger,
    claim_run,
    finish_run,
    latest_fire_time,
    run_job_now,
)
from wzcheckin.scheduling import JobRun, JobSpec, SchedulerLease

PROGRAMME = load_programme(DEFAULT_PROGRAMME)
SPECS = {spec.id: spec for spec in all_jobs()}


def test_triggers_read_the_programme_and_know_their_latest_instant():
    cutoff = SPECS["residence.cutoff"]
    assert latest_fire_time(cutoff, PROGRAMME, PROGRAMME.cutoff - timedelta(seconds=1)) is None
    assert latest_fire_time(cutoff, PROGRAMME, at("2021-03-03 10:00")) == PROGRAMME.cutoff
    reminders = SPECS["residence.sms_reminders"]   # daily at [sms] reminder_hour_local (10:00)
    assert latest_fire_time(reminders, PROGRAMME, at("2021-02-12 09:59")) == at("2021-02-11 10:00")
    assert latest_fire_time(reminders, PROGRAMME, at("2021-02-12 10:00")) == at("2021-02-12 10:00")
    dispatch = SPECS["residence.sms_dispatch"]      # every minute, from a fixed start
    assert latest_fire_time(dispatch, PROGRAMME, at("2021-02-12 10:00:59")) == at("2021-02-12 10:00")
    # With a simulated clock the scheduler fires on real time, shifted by the clock's offset.
    offset = (at("2021-03-01 00:00") - datetime(2030, 1, 1, tzinfo=UTC)).total_seconds()
    shifted = ShiftedTrigger(build_trigger(cutoff, PROGRAMME), offset)
    assert shifted.get_next_fire_time(None, datetime(2029, 12, 31, 23, 0, tzinfo=UTC)) == datetime(2030, 1, 1,
                                                                                                   tzinfo=UTC)


def test_a_run_is_claimed_once_and_taken_over_only_when_failed_or_abandoned(app, db):
    from wzcheckin.extensions import db as flask_db

    with app.app_context():
        engine = flask_db.engine
    instant = at("2021-03-01 00:00")
    lease = timedelta(seconds=30)
    first = claim_run(engine, "test.job", instant, "host:1:a", lease)
    assert first is not None
    assert claim_run(engine, "test.job", instant, "host:2:b", lease) is None          # running elsewhere
    finish_run(engine, first, "host:1:a", status="failed", error="ValueError: boom")
    retry = claim_run(engine, "test.job", instant, "host:2:b", lease)
    assert retry == first                                                            # a failed run is retried
    finish_run(engine, retry, "host:2:b", status="succeeded", summary={"ok": 1})
    assert claim_run(engine, "test.job", instant, "host:3:c", lease) is None          # done: never again
    abandoned = claim_run(engine, "test.job", instant + timedelta(days=1), "host:4:d", timedelta(seconds=-1))
    assert claim_run(engine, "test.job", instant + timedelta(days=1), "host:5:e", lease) == abandoned
    rows = {row.scheduled_for: row for row in db.scalars(sa.select(JobRun))}
    assert (rows[instant].status, rows[instant].attempt, rows[instant].summary) == ("succeeded", 2, {"ok": 1})
    assert rows[instant].finished_at is not None and rows[instant + timedelta(days=1)].holder == "host:5:e"


def failing_job(session, programme, now):
    raise ValueError("the job failed on purpose")


def test_a_failed_job_is_logged_and_can_be_run_again(app, db):
    spec = JobSpec(id="test.failing", func="tests.residence.test_scheduler:failing_job", trigger="date",
                   trigger_args={"run_date": "programme:cutoff"})
    outcome = run_job_now(app, spec, holder="test:1", lease=timedelta(seconds=30))
    assert outcome["outcome"] == "failed"
    again = run_job_now(app, spec, holder="test:2", lease=timedelta(seconds=30))
    assert again["outcome"] == "failed" and again["run_id"] == outcome["run_id"]
    run = db.scalar(sa.select(JobRun))
    assert (run.status, run.attempt, run.error) == ("failed", 2, "ValueError: the job failed on purpose")


def test_the_lease_has_one_holder_at_a_time(app, db):
    from wzcheckin.extensions import db as flask_db

    with app.app_context():
        engine = flask_db.engine
    one, two = Lease(engine, "one", 30), Lease(engine, "two", 30)
    assert one.try_acquire() and not two.try_acquire() and one.try_acquire()
    one.release()
    assert two.try_acquire() and two.renew() and not one.renew()
    assert db.scalar(sa.select(SchedulerLease.holder)) == "two"


def test_two_scheduler_processes_run_the_due_cutoff_exactly_once(db, vault, database_url, clock_file, tmp_path):
    site = make_site(db, vault)
    bulk_workers(db, vault, site, 55, permit=True)
    db.commit()
    logs = [tmp_path / "scheduler-1.log", tmp_path / "scheduler-2.log"]
    processes = [start_wzcheckin(database_url, "scheduler", "--lease-seconds", "2", clock_file=clock_file,
                                 log_path=log) for log in logs]
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            db.rollback()
            if db.scalar(sa.select(JobRun.status).where(JobRun.job_id == "residence.cutoff")) == "succeeded":
                break
            assert all(p.poll() is None for p in processes), [log.read_text() for log in logs]
            time.sleep(0.2)
        holder = db.scalar(sa.select(SchedulerLease.holder))
        active = next(p for p in processes if f":{p.pid}:" in holder)
        standby = next(p for p in processes if p is not active)
        # The active one dies without a word; the other takes over and must not run it again.
        os.killpg(active.pid, signal.SIGKILL)
        active.wait(timeout=30)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            db.rollback()
            if f":{standby.pid}:" in (db.scalar(sa.select(SchedulerLease.holder)) or ""):
                break
            time.sleep(0.2)
        time.sleep(2)   # let it look at the due jobs
        standby.send_signal(signal.SIGTERM)
        assert standby.wait(timeout=30) == 0
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
    db.rollback()
    runs = db.scalars(sa.select(JobRun).where(JobRun.job_id == "residence.cutoff")).all()
    assert [(r.status, r.attempt, r.scheduled_for) for r in runs] == [("succeeded", 1, at("2021-03-01 00:00"))]
    assert runs[0].summary["workers"]["confirmed"] == 55 and runs[0].finished_at >= runs[0].started_at
    assert db.scalar(sa.select(sa.func.count()).select_from(Snapshot)) == 1
    standby_log = logs[processes.index(standby)].read_text()
    assert "standing by" in standby_log and "active" in standby_log
    assert db.scalar(sa.select(sa.func.count()).select_from(SchedulerLease)) == 0   # released on SIGTERM


def test_once_runs_a_job_by_hand_and_a_concurrent_twin_does_not(db, vault, database_url, clock_file, tmp_path):
    site = make_site(db, vault)
    bulk_workers(db, vault, site, 5)
    db.commit()
    command = ["scheduler", "--once", "residence.cutoff"]
    logs = [tmp_path / f"once-{n}.log" for n in range(2)]
    twins = [start_wzcheckin(database_url, *command, clock_file=clock_file, log_path=log) for log in logs]
    for twin in twins:
        assert twin.wait(timeout=120) == 0
    outcomes = sorted(json.loads(log.read_text().strip().splitlines()[-1])["outcome"] for log in logs)
    assert outcomes == ["already_claimed", "succeeded"]
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 1
    assert db.scalar(sa.select(sa.func.count()).select_from(Snapshot)) == 1
    unknown = wzcheckin(database_url, "scheduler", "--once", "no.such.job", clock_file=clock_file, check=False)
    assert unknown.returncode == 1 and "residence.cutoff" in unknown.stderr
