"""Outages against a real gunicorn (2 workers × 2 threads): every API answer is JSON as SPEC §6
promises (503 with Retry-After and a stable code, never gunicorn's HTML page), pages are a 503
page in the reader's language, /healthz is 503 JSON, the log gets one line per kind of outage per
process with the request's id and no traceback, and everything works again afterwards."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.faults.conftest import OUTAGE_LINE, Tally, log_in, seed_accounts
from tests.support.clock import at
from tests.support.disk import fill_up
from tests.support.servers import GunicornServer, run_cli
from tests.support.web import csrf_token_from

WORKERS = 2


def requests_for(base: str, accounts, browser: requests.Session) -> list[tuple[str, str, callable]]:
    """(label, kind, call): one of each kind of caller, API and pages."""
    official = {"Authorization": f"Bearer {accounts.official_token}"}
    worker = {"Authorization": f"Bearer {accounts.worker_token}"}
    english = {"Accept-Language": "en"}
    return [
        ("api whoami (official token)", "api", lambda: requests.get(base + "/api/v1/whoami", headers=official, timeout=30)),
        ("api me (worker token)", "api", lambda: requests.get(base + "/api/v1/me", headers=worker, timeout=30)),
        ("api data-bonus claim (worker)", "api", lambda: requests.post(base + "/api/v1/me/data-bonus", json={},
                                                                       headers={**worker, **english}, timeout=30)),
        ("api venues (anonymous)", "api", lambda: requests.get(base + "/api/v1/venues", timeout=30)),
        ("api unknown route (official token)", "api", lambda: requests.get(base + "/api/v1/nowhere", headers=official,
                                                                           timeout=30)),
        ("healthz", "health", lambda: requests.get(base + "/healthz", timeout=30)),
        ("page home (logged in)", "page", lambda: browser.get(base + "/", allow_redirects=False, timeout=30)),
        ("page home (logged in, English)", "page-en", lambda: browser.get(base + "/", headers=english,
                                                                          allow_redirects=False, timeout=30)),
    ]


def failed_log_in(base: str, phone: str) -> requests.Response:
    browser = requests.Session()
    form = browser.get(base + "/login", timeout=30)
    return browser.post(base + "/login", data={"csrf_token": csrf_token_from(form.text), "phone": phone,
                                               "password": "wrong-password-123"}, timeout=30)


def send(calls, rounds: int) -> tuple[Tally, list[tuple[str, str, requests.Response]]]:
    tally, answered = Tally(), []

    def one(item):
        label, kind, call = item
        try:
            return label, kind, call(), None
        except requests.RequestException as exc:
            return label, kind, None, exc

    with ThreadPoolExecutor(max_workers=4) as pool:
        for label, kind, response, error in pool.map(one, calls * rounds):
            tally.record(label, response, error)
            if response is not None:
                answered.append((label, kind, response))
    return tally, answered


def assert_outage_answers(answered, code: str, *, retry_after: str) -> None:
    for label, kind, response in answered:
        content_type = response.headers.get("Content-Type", "")
        assert response.status_code < 500 or response.status_code == 503, (label, response.status_code)
        if kind in {"api", "health"}:
            assert content_type.startswith("application/json"), (label, response.status_code, response.text[:200])
        if response.status_code != 503:
            continue
        assert response.headers["Retry-After"] == retry_after, label
        assert response.headers["Cache-Control"] == "no-store", label
        if kind in {"api", "health"}:
            assert response.json()["error"]["code"] == code, label
        else:
            assert content_type.startswith("text/html"), (label, content_type)
            text = response.text
            if kind == "page-en":
                assert "Temporarily unavailable" in text, label
            else:
                assert "暂时无法使用" in text, label


def assert_quiet_log(log: str, answered, *, code: str) -> None:
    assert "Traceback" not in log, log[-3000:]
    assert "Internal Server Error" not in log
    outage_lines = [line for line in log.splitlines() if OUTAGE_LINE.search(line)]
    assert 1 <= len(outage_lines) <= WORKERS, outage_lines  # one per process and kind
    assert all(f"database outage {code}:" in line for line in outage_lines), outage_lines
    request_ids = {response.headers["X-Request-ID"] for _label, _kind, response in answered}
    for line in outage_lines:
        assert any(f"[{request_id}]" in line for request_id in request_ids), (line, sorted(
            (label, response.status_code, response.headers["X-Request-ID"]) for label, _kind, response in answered))


def wait_until_healthy(base: str, deadline_seconds: float = 60) -> requests.Response:
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            answer = requests.get(base + "/healthz", timeout=30)
            if answer.status_code == 200 or time.monotonic() > deadline:
                return answer
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def assert_recovered(base: str, accounts, browser: requests.Session) -> None:
    assert wait_until_healthy(base).json() == {"status": "ok"}
    official = {"Authorization": f"Bearer {accounts.official_token}"}
    assert requests.get(base + "/api/v1/whoami", headers=official, timeout=30).status_code == 200
    assert requests.get(base + "/api/v1/venues", timeout=30).status_code == 200
    assert browser.get(base + "/", allow_redirects=False, timeout=30).status_code in (200, 302)


# --- PostgreSQL ---------------------------------------------------------------------------------

def test_postgres_database_closed_to_connections(postgres_only, gunicorn_server, server_app, fresh_database,
                                                 postgres_admin_url):
    accounts = seed_accounts(server_app)
    server = gunicorn_server(workers=WORKERS, threads=2)
    base = server.base_url
    browser = log_in(base, accounts.official_phone, accounts.password)
    assert requests.get(base + "/api/v1/whoami", headers={"Authorization": f"Bearer {accounts.official_token}"},
                        timeout=30).status_code == 200
    name = fresh_database.rsplit("/", 1)[1]
    admin = sa.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    from wzcheckin.extensions import db

    db.engine.dispose()  # the seeding app's own connections go too
    try:
        with admin.connect() as control:  # connections in the pool die, new ones are refused
            control.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            control.exec_driver_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        tally, answered = send(requests_for(base, accounts, browser), rounds=20)
    finally:
        with admin.connect() as control:
            control.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.dispose()
    print("\nPostgreSQL closed to connections:\n" + tally.table())
    assert not tally.failures, tally.failures
    assert_outage_answers(answered, "database_unavailable", retry_after="10")
    statuses = {(label, response.status_code) for label, _kind, response in answered}
    for label in ("api whoami (official token)", "api me (worker token)", "api data-bonus claim (worker)",
                  "api venues (anonymous)", "healthz", "page home (logged in)"):
        assert (label, 503) in statuses and all(s == 503 for lbl, s in statuses if lbl == label), label
    assert_quiet_log(server.log_text(), answered, code="database_unavailable")
    assert_recovered(base, accounts, browser)


def test_postgres_server_stopped_and_restarted(postgres_only, tmp_path):
    """The whole PostgreSQL server goes away (connection refused) and comes back on its port."""
    from tests.support.postgres import PostgresUnavailable, TemporaryCluster, create_database

    try:
        cluster = TemporaryCluster()
        admin_url = cluster.start()
    except (PostgresUnavailable, OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot start a PostgreSQL cluster of the test's own: {exc}")
    server = None
    try:
        url = create_database(admin_url, "restarting")
        run_cli(url, "init")
        from tests.support.config import TEST_CONFIG
        from wzcheckin import create_app
        from wzcheckin.extensions import db

        seeding = create_app({**TEST_CONFIG, "DATABASE_URL": url, "SQLALCHEMY_DATABASE_URI": url})
        with seeding.app_context():
            accounts = seed_accounts(seeding)
            db.session.remove()
            db.engine.dispose()
        server = GunicornServer(url, workers=WORKERS, threads=2, log_path=tmp_path / "gunicorn.log").start()
        browser = log_in(server.base_url, accounts.official_phone, accounts.password)
        cluster.stop_server()
        tally, answered = send(requests_for(server.base_url, accounts, browser), rounds=10)
        print("\nPostgreSQL stopped:\n" + tally.table())
        assert not tally.failures, tally.failures
        assert_outage_answers(answered, "database_unavailable", retry_after="10")
        assert all(response.status_code == 503 for label, _kind, response in answered if label == "healthz")
        assert_quiet_log(server.log_text(), answered, code="database_unavailable")
        cluster.start_server()
        assert_recovered(server.base_url, accounts, browser)
    finally:
        if server is not None:
            server.stop()
        cluster.stop()


# --- SQLite ----------------------------------------------------------------------------------

def test_sqlite_write_lock_held_by_another_process(sqlite_only, gunicorn_server, server_app, fresh_database):
    """An outside process holds the write lock (BEGIN EXCLUSIVE) past the lock wait: writes are
    503 database_busy before gunicorn's timeout, reads still work (WAL)."""
    accounts = seed_accounts(server_app)
    server = gunicorn_server(workers=WORKERS, threads=2, env={"WZCHECKIN_DB_LOCK_TIMEOUT_SECONDS": "1"})
    base = server.base_url
    official = {"Authorization": f"Bearer {accounts.official_token}"}
    worker = {"Authorization": f"Bearer {accounts.worker_token}"}
    outsider = sqlite3.connect(fresh_database.removeprefix("sqlite:///"), isolation_level=None)
    outsider.execute("BEGIN EXCLUSIVE")
    try:
        calls = [
            ("healthz", "health", lambda: requests.get(base + "/healthz", timeout=30)),
            ("api data-bonus claim (worker)", "api", lambda: requests.post(base + "/api/v1/me/data-bonus", json={},
                                                                           headers=worker, timeout=30)),
            ("page log-in attempt", "page", lambda: failed_log_in(base, accounts.official_phone)),
            ("api whoami (read)", "api", lambda: requests.get(base + "/api/v1/whoami", headers=official, timeout=30)),
        ]
        tally, answered = send(calls, rounds=3)
    finally:
        outsider.execute("ROLLBACK")
        outsider.close()
    print("\nSQLite write lock held elsewhere:\n" + tally.table())
    assert not tally.failures, tally.failures
    assert_outage_answers(answered, "database_busy", retry_after="5")
    by_label = {}
    for label, _kind, response in answered:
        by_label.setdefault(label, set()).add(response.status_code)
    assert by_label["healthz"] == {503}
    assert by_label["api data-bonus claim (worker)"] == {503}
    assert by_label["api whoami (read)"] == {200}
    assert by_label["page log-in attempt"] == {503}  # the failure counter cannot be written
    assert_quiet_log(server.log_text(), answered, code="database_busy")
    assert wait_until_healthy(base).json() == {"status": "ok"}


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MB tmpfs of the test's own (root only), so the disk can really fill up."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(directory: Path) -> Path:
    """Write zeros until the file system says ENOSPC, down to the last byte."""
    filler = fill_up(directory)
    descriptor = os.open(directory / "one-more", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with pytest.raises(OSError) as full:
            os.write(descriptor, b"\0")
    finally:
        os.close(descriptor)
    assert full.value.errno == errno.ENOSPC
    return filler


def test_sqlite_disk_full(sqlite_only, small_disk, tmp_path):
    url = f"sqlite:///{small_disk / 'wzcheckin.sqlite3'}"
    run_cli(url, "init")
    from tests.support.config import TEST_CONFIG
    from wzcheckin import create_app
    from wzcheckin.extensions import db

    seeding = create_app({**TEST_CONFIG, "DATABASE_URL": url, "SQLALCHEMY_DATABASE_URI": url})
    with seeding.app_context():
        accounts = seed_accounts(seeding)
        db.session.remove()
        db.engine.dispose()
    # On the programme's calendar, inside the data bonus's claim window, so the claim really writes.
    from wzcheckin.clock import SimulatedClock

    clock_file = tmp_path / "clock"
    SimulatedClock(clock_file).set(at("2021-02-08 10:00"), running=True)
    server = GunicornServer(url, workers=WORKERS, threads=2, log_path=tmp_path / "gunicorn.log",
                            env={"WZCHECKIN_DEV": "1", "WZCHECKIN_SIMULATED_CLOCK_FILE": str(clock_file)}).start()
    try:
        base = server.base_url
        browser = log_in(base, accounts.official_phone, accounts.password)
        worker = {"Authorization": f"Bearer {accounts.worker_token}"}
        official = {"Authorization": f"Bearer {accounts.official_token}"}
        filler = fill(small_disk)
        calls = [
            ("healthz", "health", lambda: requests.get(base + "/healthz", timeout=30)),
            ("api data-bonus claim (worker)", "api", lambda: requests.post(base + "/api/v1/me/data-bonus", json={},
                                                                           headers=worker, timeout=30)),
            ("api whoami (read)", "api", lambda: requests.get(base + "/api/v1/whoami", headers=official, timeout=30)),
        ]
        tally, answered = send(calls, rounds=5)
        print("\nSQLite on a full disk:\n" + tally.table())
        assert not tally.failures, tally.failures
        assert_outage_answers(answered, "disk_full", retry_after="60")
        by_label = {}
        for label, _kind, response in answered:
            by_label.setdefault(label, set()).add(response.status_code)
        assert by_label["healthz"] == {503}
        assert by_label["api data-bonus claim (worker)"] == {503}
        assert by_label["api whoami (read)"] == {200}
        assert_quiet_log(server.log_text(), answered, code="disk_full")
        filler.unlink()
        assert wait_until_healthy(base).json() == {"status": "ok"}
        claim = requests.post(base + "/api/v1/me/data-bonus", json={}, headers=worker, timeout=30)
        assert claim.status_code in (201, 409, 422), claim.text[:300]  # answered by the domain again
        assert browser.get(base + "/", allow_redirects=False, timeout=30).status_code in (200, 302)
    finally:
        server.stop()
