"""Races the room tests do not already run (bookings, pickups, data-bonus claims and one staff
member's scan-id replays are in tests/venues, tests/welfare, tests/benefits), against a real
gunicorn (2 worker processes × 4 threads), on SQLite and PostgreSQL:

* the cutoff run (``wzcheckin cutoff run``, its own process) while late gate scans keep arriving:
  the snapshot counts exactly the scans strictly before the cutoff instant — a scan at the
  instant itself or after it never — and a rerun, or a clean run from scratch afterwards, gives
  the same report byte for byte;
* one ``scan_id`` sent at the same moment by ten different staff: recorded once, for one of them;
  the nine others get ``409 scan_id_conflict``;
* no 5xx and no "database is locked" anywhere.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from tests.builders import make_user
from tests.residence.builders import bulk_workers, make_site
from tests.residence.conftest import cli_env, start_wzcheckin, wzcheckin
from tests.support.clock import at
from wzcheckin.accounts.api_tokens import issue_api_token
from wzcheckin.accounts.models import Worker
from wzcheckin.clock import SimulatedClock
from wzcheckin.codes.tokens import TokenKind
from wzcheckin.core.roles import Role
from wzcheckin.residence.models import Snapshot, SnapshotPhase, WorkerStatus
from wzcheckin.scanning.models import Scan

pytestmark = [pytest.mark.server, pytest.mark.slow]

AFTER_CUTOFF = "2021-03-01 00:05"   # the simulated "now" of the server and the cutoff run


def clean_log(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text and "database is locked" not in text, text[-3000:]


def fire(base_url: str, items: list[tuple[dict, dict]], threads: int = 8) -> list[tuple[int, dict]]:
    """POST every (headers, body) to /api/v1/scans, ``threads`` at a time, released together."""
    barrier = threading.Barrier(min(threads, len(items)))

    def send(item):
        headers, body = item
        with requests.Session() as http:
            with contextlib.suppress(threading.BrokenBarrierError):  # fewer items than threads
                barrier.wait(timeout=5)
            response = http.post(base_url + "/api/v1/scans", json=body, headers=headers, timeout=120)
            return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(send, items))


def test_late_scans_during_the_cutoff_run_never_enter_the_snapshot(gunicorn_server, server_app, fresh_database,
                                                                   tmp_path):
    from wzcheckin.codes.keys import load_keyring
    from wzcheckin.core import context
    from wzcheckin.extensions import db

    session, vault, programme = db.session, context.vault(), context.programme()
    keyring = load_keyring(session, vault)
    cutoff = programme.cutoff
    site = make_site(session, vault, name="瓯江鞋业")
    # Everyone has evidence in the first two windows; the last window is decided by the scans below.
    early = bulk_workers(session, vault, site, 20, windows=(0, 1))      # a scan 1 s before the cutoff
    boundary = bulk_workers(session, vault, site, 10, windows=(0, 1))   # a scan at the cutoff instant
    late = bulk_workers(session, vault, site, 20, windows=(0, 1))       # scans only after it, during the run
    bulk_workers(session, vault, site, 150, windows=(0, 1))             # bystanders: a longer run
    staff = [make_user(session, vault, Role.GATEKEEPER, checkpoint=site.gate) for _ in range(4)]
    headers = [{"Authorization": f"Bearer {issue_api_token(session, user, cutoff)}"} for user in staff]
    public_ids = dict(session.execute(sa.select(Worker.id, Worker.public_id)).all())
    session.commit()
    clock_file = tmp_path / "clock"
    SimulatedClock(clock_file).set(at(AFTER_CUTOFF))
    env = {key: value for key, value in cli_env(fresh_database, clock_file).items()
           if key in ("WZCHECKIN_DEV", "WZCHECKIN_SIMULATED_CLOCK_FILE")}
    server = gunicorn_server(workers=2, threads=4, env=env)

    def scan(worker_id: int, when, n: int) -> tuple[dict, dict]:
        token = keyring.sign(TokenKind.PASS, public_ids[worker_id], when + timedelta(minutes=5), issued_at=when)
        return headers[n % len(headers)], {"token": token, "scan_id": uuid.uuid4().hex, "mask": True,
                                           "temperature": 36.5, "scanned_at": when.isoformat()}

    before = [scan(w, cutoff - timedelta(seconds=1), n) for n, w in enumerate(early)]
    before += [scan(w, cutoff, n) for n, w in enumerate(boundary)]
    answers = fire(server.base_url, before)
    assert {(status, body["reason"]) for status, body in answers} == {(200, "entry_allowed")}

    # Late scans stream in (four staff, from 1 s to 4 min after the cutoff) for as long as the run
    # writes; every answer's moment is kept, so the overlap with the run is measured, not hoped for.
    stop, answers, lock = threading.Event(), [], threading.Lock()

    def stream(lane: int) -> None:
        with requests.Session() as http:
            n = 0
            while not stop.is_set():
                worker_id = late[(lane + 4 * n) % len(late)]
                when = cutoff + timedelta(seconds=1 + (lane + 4 * n) % 240)
                item_headers, body = scan(worker_id, when, lane)
                response = http.post(server.base_url + "/api/v1/scans", json=body, headers=item_headers, timeout=120)
                with lock:
                    answers.append((time.monotonic(), response.status_code, response.json().get("reason")))
                n += 1

    streams = [threading.Thread(target=stream, args=(lane,)) for lane in range(4)]
    run = start_wzcheckin(fresh_database, "cutoff", "run", "--chunk-size", "1", clock_file=clock_file,
                          log_path=tmp_path / "cutoff.log")
    engine = sa.create_engine(fresh_database)
    began = ended = None
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and ended is None:
            with engine.connect() as connection:
                row = connection.execute(sa.select(Snapshot.phase, Snapshot.progress_worker_id)).first()
            if row is not None and began is None and (row[1] or row[0] != SnapshotPhase.STATUSES):
                began = time.monotonic()
                for thread in streams:  # the run is writing: the late scans start now
                    thread.start()
            if row is not None and row[0] == SnapshotPhase.COMPLETE:
                ended = time.monotonic()
            time.sleep(0.005)
        assert run.wait(timeout=300) == 0, (tmp_path / "cutoff.log").read_text()[-3000:]
    finally:
        stop.set()
        for thread in streams:
            if thread.is_alive():
                thread.join(timeout=120)
        engine.dispose()
    during = [answer for answer in answers if began is not None and began < answer[0] < ended]
    assert len(during) >= 5, f"only {len(during)} late scans arrived while the run wrote: the test proved little"
    assert {(status, reason) for _t, status, reason in answers} == {(200, "entry_allowed")}
    late_scans = len(answers)

    report = wzcheckin(fresh_database, "report", "headcounts", clock_file=clock_file).stdout
    summary = json.loads((tmp_path / "cutoff.log").read_text().strip().splitlines()[-1])
    assert not summary["resumed"] and summary["workers"]["confirmed"] == len(early)
    session.rollback()
    snapshot_id = session.scalar(sa.select(Snapshot.id))
    confirmed = set(session.scalars(sa.select(WorkerStatus.worker_id).where(
        WorkerStatus.snapshot_id == snapshot_id, WorkerStatus.reason == "confirmed")))
    assert confirmed == set(early)
    assert session.scalar(sa.select(sa.func.count()).select_from(Scan).where(
        Scan.scanned_at >= cutoff)) == len(boundary) + late_scans
    assert ",20,0,0\n" in report  # 20 retained: below the first tier

    # A clean run from scratch, with every late scan now in the database, gives the same report.
    session.execute(sa.delete(Snapshot))
    session.commit()
    clean = json.loads(wzcheckin(fresh_database, "cutoff", "run", clock_file=clock_file).stdout.splitlines()[-1])
    assert not clean["resumed"] and clean["workers"] == summary["workers"]
    assert wzcheckin(fresh_database, "report", "headcounts", clock_file=clock_file).stdout == report
    clean_log(server.log_text(), (tmp_path / "cutoff.log").read_text())


def test_one_scan_id_sent_by_ten_staff_at_once_is_recorded_once(gunicorn_server, seeded):
    from tests.builders import make_worker
    from tests.scanning.builders import bearer, gate_setup
    from wzcheckin import clock
    from wzcheckin.codes.passes import current_pass

    session, vault, programme, keyring = seeded.session, seeded.vault, seeded.programme, seeded.keyring
    _enterprise, gate, first, worker = gate_setup(session, vault, programme)
    staff = [first, *(make_user(session, vault, Role.GATEKEEPER, checkpoint=gate) for _ in range(9))]
    headers = [bearer(session, user, clock.now()) for user in staff]
    others = [make_worker(session, vault, programme, enterprise=worker.enterprise) for _ in range(4)]
    session.commit()
    server = gunicorn_server(workers=2, threads=4)

    for round_worker in [worker, *others]:  # five rounds, a fresh scan_id each
        token = current_pass(round_worker, keyring, programme, clock.now()).token
        scan_id = uuid.uuid4().hex
        body = {"token": token, "scan_id": scan_id, "mask": True, "temperature": 36.4}
        answers = fire(server.base_url, [(h, body) for h in headers], threads=10)
        statuses = sorted(status for status, _ in answers)
        assert statuses == [200] + [409] * 9, answers
        assert {body["error"]["code"] for status, body in answers if status == 409} == {"scan_id_conflict"}
        winner = next(i for i, (status, _) in enumerate(answers) if status == 200)
        session.rollback()
        rows = session.scalars(sa.select(Scan).where(Scan.scan_id == scan_id)).all()
        assert len(rows) == 1 and rows[0].staff_user_id == staff[winner].id
    clean_log(server.log_text())


def test_one_fever_scan_uploaded_ten_times_at_once_is_one_scan_one_alert_and_one_answer(gunicorn_server, seeded):
    """An offline queue retried by a phone on a bad network: the same scan, sent ten times at once
    by its gatekeeper. The gate claims the scan_id with the scan itself, after judging it, so all
    ten are judged; one writes the scan and its health alert, the other nine answer as it did."""
    from tests.scanning.builders import bearer, gate_setup
    from wzcheckin import clock
    from wzcheckin.codes.passes import current_pass
    from wzcheckin.enterprises.models import HealthAlert

    session, vault, programme, keyring = seeded.session, seeded.vault, seeded.programme, seeded.keyring
    _enterprise, _gate, gatekeeper, worker = gate_setup(session, vault, programme)
    headers = bearer(session, gatekeeper, clock.now())
    session.commit()
    server = gunicorn_server(workers=2, threads=4)
    for _round in range(3):
        token = current_pass(worker, keyring, programme, clock.now()).token
        scan_id = uuid.uuid4().hex
        body = {"token": token, "scan_id": scan_id, "mask": True, "temperature": 38.2}
        answers = fire(server.base_url, [(headers, body)] * 10, threads=10)
        assert [status for status, _ in answers] == [200] * 10, answers
        assert sorted(answer["replayed"] for _, answer in answers) == [False] + [True] * 9
        assert {(a["result"], a["reason"], a["scanned_at"]) for _, a in answers} == {
            ("rejected", "fever", answers[0][1]["scanned_at"])}
        session.rollback()
        assert session.scalar(sa.select(sa.func.count()).select_from(Scan).where(Scan.scan_id == scan_id)) == 1
        assert session.scalar(sa.select(sa.func.count()).select_from(HealthAlert)
                              .where(HealthAlert.scan_id == scan_id)) == 1
    clean_log(server.log_text())
