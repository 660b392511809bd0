"""The scheduler: triggers in programme time, run claims (one run per job and instant, across
processes), the catch-up (what is due and has not run, a run whose process died), the run log,
and two ``wzcheckin scheduler`` processes at once with no lease between them."""

import json
import logging
import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tests.residence.builders import bulk_workers, make_site
from tests.residence.conftest import start_wzcheckin, wzcheckin
from tests.support.clock import at
from wzcheckin.config import DEFAULT_PROGRAMME
from wzcheckin.core.job_specs import JobSpec
from wzcheckin.programme import load_programme
from wzcheckin.residence.models import Snapshot
from wzcheckin.scheduler.models import JobRun
from wzcheckin.scheduler.process import SchedulerProcess, declared_jobs
from wzcheckin.scheduler.runs import claim_run, due_runs, finish_run, run_job, wall_now
from wzcheckin.scheduler.triggers import ShiftedTrigger, build_trigger, latest_fire_time

PROGRAMME = load_programme(DEFAULT_PROGRAMME)
SPECS = {spec.id: spec for spec in declared_jobs()}
CLAIM = timedelta(seconds=30)


def engine_of(app):
    from wzcheckin.extensions import db as flask_db

    with app.app_context():
        return flask_db.engine


def test_every_room_declares_its_jobs_with_functions_not_names():
    assert {"residence.cutoff", "residence.sms_dispatch", "review.signals_cutoff", "venues.no_shows"} <= set(SPECS)
    assert all(callable(spec.func) for spec in SPECS.values())


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
    engine = engine_of(app)
    instant = at("2021-03-01 00:00")
    first = claim_run(engine, "test.job", instant, "host:1:a", CLAIM)
    assert first is not None
    assert claim_run(engine, "test.job", instant, "host:2:b", CLAIM) is None          # running elsewhere
    finish_run(engine, first, "host:1:a", status="failed", error="ValueError: boom")
    retry = claim_run(engine, "test.job", instant, "host:2:b", CLAIM)
    assert retry == first                                                            # a failed run is retried
    finish_run(engine, retry, "host:2:b", status="succeeded", summary={"ok": 1})
    assert claim_run(engine, "test.job", instant, "host:3:c", CLAIM) is None          # done: never again
    abandoned = claim_run(engine, "test.job", instant + timedelta(days=1), "host:4:d", timedelta(seconds=-1))
    assert claim_run(engine, "test.job", instant + timedelta(days=1), "host:5:e", CLAIM) == abandoned
    rows = {row.scheduled_for: row for row in db.scalars(sa.select(JobRun))}
    assert (rows[instant].status, rows[instant].attempt, rows[instant].summary) == ("succeeded", 2, {"ok": 1})
    assert rows[instant].finished_at is not None and rows[instant + timedelta(days=1)].holder == "host:5:e"


def failing_job(session, programme, now):
    raise ValueError("the job failed on purpose")


def test_a_failed_job_is_logged_and_can_be_run_again(app_after_cutoff, db):
    spec = JobSpec(id="test.failing", func=failing_job, trigger="date", trigger_args={"run_date": "programme:cutoff"})
    outcome = run_job(app_after_cutoff, spec, holder="test:1", claim=CLAIM)
    assert outcome["outcome"] == "failed"
    again = run_job(app_after_cutoff, spec, holder="test:2", claim=CLAIM)
    assert again["outcome"] == "failed" and again["run_id"] == outcome["run_id"]
    run = db.scalar(sa.select(JobRun))
    assert (run.status, run.attempt, run.error) == ("failed", 2, "ValueError: the job failed on purpose")


def test_the_catch_up_finds_each_jobs_latest_instant_that_has_not_run(app, db):
    engine = engine_of(app)
    cutoff, dispatch = SPECS["residence.cutoff"], SPECS["residence.sms_dispatch"]   # grace: 7 days; 5 minutes
    specs = [cutoff, dispatch]

    def due(now, retry_failed=False):
        return {(spec.id, instant) for spec, instant in due_runs(engine, specs, PROGRAMME, now,
                                                                 retry_failed=retry_failed)}

    now = at("2021-03-01 00:10:30")
    assert due(at("2021-02-28 23:59:59")) == {("residence.sms_dispatch", at("2021-02-28 23:59"))}
    # Missed while no scheduler ran: the cutoff once, the dispatcher's latest minute only.
    assert due(now) == {("residence.cutoff", at("2021-03-01 00:00")), ("residence.sms_dispatch", at("2021-03-01 00:10"))}
    assert due(at("2021-03-08 00:00:01")) == {("residence.sms_dispatch", at("2021-03-08 00:00"))}  # past its grace
    # Instants a moment old are their triggers' to run, not the catch-up's.
    assert due_runs(engine, specs, PROGRAMME, at("2021-03-01 00:00:03"), retry_failed=False,
                    settle=timedelta(seconds=5)) == []

    # A run under way elsewhere (a live claim) is not due; one whose process died is.
    live = claim_run(engine, "residence.cutoff", PROGRAMME.cutoff, "alive:1:a", CLAIM)
    dead = claim_run(engine, "residence.sms_dispatch", at("2021-03-01 00:10"), "dead:2:b", timedelta(seconds=-1))
    assert due(now) == {("residence.sms_dispatch", at("2021-03-01 00:10"))}
    # Failed: tried again when a scheduler starts (retry_failed), not on every sweep.
    finish_run(engine, live, "alive:1:a", status="failed", error="OperationalError: gone")
    assert due(now) == {("residence.sms_dispatch", at("2021-03-01 00:10"))}
    assert due(now, retry_failed=True) == {("residence.cutoff", at("2021-03-01 00:00")),
                                           ("residence.sms_dispatch", at("2021-03-01 00:10"))}
    # Done is done.
    taken = claim_run(engine, "residence.cutoff", PROGRAMME.cutoff, "new:3:c", CLAIM)
    finish_run(engine, taken, "new:3:c", status="succeeded")
    finish_run(engine, dead, "dead:2:b", status="succeeded")
    assert due(now, retry_failed=True) == set()
    # A job still running for an earlier instant waits for it (one instance at a time).
    claim_run(engine, "residence.sms_dispatch", at("2021-03-01 00:11"), "slow:4:d", CLAIM)
    assert due(at("2021-03-01 00:12:30")) == set()


def test_a_scheduler_started_late_finishes_the_cutoff_whose_process_died(app_after_cutoff, db, vault):
    """No lease, no standby: a scheduler that starts (or sweeps) after a process died midway
    through the cutoff takes the run over once its claim has run out, and the cutoff resumes."""
    site = make_site(db, vault)
    bulk_workers(db, vault, site, 55, permit=True)
    db.commit()
    engine = engine_of(app_after_cutoff)
    # What a scheduler killed during the cutoff leaves behind: a claim nobody renews any more.
    dead = claim_run(engine, "residence.cutoff", PROGRAMME.cutoff, "dead-host:1:a", timedelta(seconds=-1))
    process = SchedulerProcess(app_after_cutoff, [SPECS["residence.cutoff"]], claim=CLAIM, sweep_seconds=0.3)
    stop = threading.Event()
    thread = threading.Thread(target=process.serve, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            db.rollback()
            if db.scalar(sa.select(JobRun.status)) == "succeeded":
                break
            time.sleep(0.1)
        time.sleep(1)   # a few more sweeps: nothing runs again
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
    db.rollback()
    run = db.scalar(sa.select(JobRun))
    assert (run.id, run.status, run.attempt, run.holder) == (dead, "succeeded", 2, process.holder)
    assert run.summary["workers"]["confirmed"] == 55
    assert db.scalar(sa.select(sa.func.count()).select_from(Snapshot)) == 1


def test_on_real_time_the_triggers_fire_the_jobs(app, db):
    """The plain production case: the system clock, every job on its trigger (the catch-up sweep,
    here once a minute, only runs the latest instant missed before the start)."""
    fired = []

    def recording_job(session, programme, now):
        fired.append(now)

    spec = JobSpec(id="test.every_second", func=recording_job, trigger="interval", trigger_args={"seconds": 1},
                   misfire_grace_time=5)
    process = SchedulerProcess(app, [spec], claim=CLAIM, sweep_seconds=60)
    stop = threading.Event()
    thread = threading.Thread(target=process.serve, args=(stop,), daemon=True)
    thread.start()
    try:
        time.sleep(3.5)
    finally:
        stop.set()
        thread.join(timeout=30)
    db.rollback()
    runs = db.scalars(sa.select(JobRun).order_by(JobRun.scheduled_for)).all()
    # One run at most comes from the start-up catch-up; the others are the trigger's.
    assert len(runs) >= 2 and len(fired) == len(runs)
    assert all(r.status == "succeeded" and r.scheduled_for.microsecond == 0 for r in runs)


def test_on_a_moved_simulated_clock_the_cutoff_fires_when_the_simulated_cutoff_comes(app, db, tmp_path, caplog):
    """The demo's case: the scheduler follows a running simulated clock, and when the clock file
    is rewritten (moved to just before the cutoff) it schedules again and fires on time."""
    from wzcheckin.clock import SimulatedClock

    clock = SimulatedClock(tmp_path / "demo-clock")
    clock.set(at("2021-02-20 09:00"), running=True)
    original = app.extensions["wzcheckin.clock"]
    app.extensions["wzcheckin.clock"] = clock
    fired = []

    def recording_job(session, programme, now):
        fired.append(now)
        return {"now": now.isoformat()}

    spec = JobSpec(id="test.at_cutoff", func=recording_job, trigger="date", trigger_args={"run_date": "programme:cutoff"})
    process = SchedulerProcess(app, [spec], claim=CLAIM, sweep_seconds=0.3)
    stop = threading.Event()
    thread = threading.Thread(target=process.serve, args=(stop,), daemon=True)
    caplog.set_level(logging.INFO, logger="wzcheckin.scheduler")
    thread.start()
    try:
        time.sleep(1)
        assert fired == [] and process.scheduler.get_job(spec.id) is not None   # three weeks to go
        clock.set(at("2021-02-28 23:59:52"), running=True)
        time.sleep(1)   # a sweep or more: the job is scheduled again, for ~7 s of real time from now
        next_run = process.scheduler.get_job(spec.id).next_run_time
        assert timedelta(seconds=4) < next_run - wall_now() < timedelta(seconds=9)
        deadline = time.monotonic() + 30
        while not fired and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(timeout=30)
        app.extensions["wzcheckin.clock"] = original
    assert len(fired) == 1 and PROGRAMME.cutoff <= fired[0] < PROGRAMME.cutoff + timedelta(seconds=5)
    assert "catching up" not in caplog.text   # its trigger fired it, not the catch-up
    db.rollback()
    run = db.scalar(sa.select(JobRun))
    assert (run.job_id, run.scheduled_for, run.status) == ("test.at_cutoff", PROGRAMME.cutoff, "succeeded")


def test_two_scheduler_processes_run_each_due_run_once(db, vault, database_url, clock_file, tmp_path):
    site = make_site(db, vault)
    bulk_workers(db, vault, site, 55, permit=True)
    db.commit()
    logs = [tmp_path / "scheduler-1.log", tmp_path / "scheduler-2.log"]
    processes = [start_wzcheckin(database_url, "scheduler", "--claim-seconds", "2", "--sweep-seconds", "0.5",
                                 clock_file=clock_file, log_path=log) for log in logs]
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            db.rollback()
            if db.scalar(sa.select(JobRun.status).where(JobRun.job_id == "residence.cutoff")) == "succeeded":
                break
            assert all(p.poll() is None for p in processes), [log.read_text() for log in logs]
            time.sleep(0.2)
        holder = db.scalar(sa.select(JobRun.holder).where(JobRun.job_id == "residence.cutoff"))
        ran = next(p for p in processes if f":{p.pid}:" in holder)
        other = next(p for p in processes if p is not ran)
        # The one that ran the cutoff dies without a word; the other sweeps on and must not run it again.
        os.killpg(ran.pid, signal.SIGKILL)
        ran.wait(timeout=30)
        time.sleep(3)   # several sweeps, and the dead process's claims running out (2 s)
        other.send_signal(signal.SIGTERM)
        assert other.wait(timeout=30) == 0
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
    # Both fired every due job; each (job, instant) ran once, by one of them.
    every = db.scalars(sa.select(JobRun)).all()
    assert {r.job_id for r in every} >= {"residence.cutoff", "review.signals_cutoff", "residence.sms_dispatch"}
    assert all((r.status, r.attempt) == ("succeeded", 1) for r in every), [(r.job_id, r.status) for r in every]
    texts = [log.read_text() for log in logs]
    assert sum(text.count("job residence.cutoff for 2021-02-28T16:00:00+00:00: started") for text in texts) == 1
    assert all("running" in text for text in texts)


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


def test_the_run_log_reaches_the_officials_page_through_core(app, db):
    from wzcheckin.core.job_specs import recent_runs

    engine = engine_of(app)
    for minute in range(3):
        run = claim_run(engine, "residence.sms_dispatch", at(f"2021-02-12 10:0{minute}"), "host:1:a", CLAIM)
        finish_run(engine, run, "host:1:a", status="succeeded")
    claim_run(engine, "residence.cutoff", PROGRAMME.cutoff, "host:1:a", CLAIM)
    with app.app_context():
        from wzcheckin.extensions import db as flask_db

        latest = [(r.job_id, r.scheduled_for, r.status) for r in recent_runs(flask_db.session)]
    assert latest == [("residence.cutoff", PROGRAMME.cutoff, "running"),
                      ("residence.sms_dispatch", at("2021-02-12 10:02"), "succeeded")]
