"""Crash durability: ``kill -9`` the whole gunicorn (master and workers, as a power cut to the
app server would) while hundreds of scans are in flight, start it again and let every device
upload its queue again with the same scan ids:

* no acknowledged scan is lost — every scan answered 200 before the kill is in the database
  after it, before anything is resent;
* none is recorded twice — one row per scan id, one health alert per fever scan;
* the answer to the resent scan is the first answer (``replayed``), for every acknowledged one.

On SQLite (WAL, synchronous=NORMAL: a commit survives the death of the process) and on
PostgreSQL. The cutoff job killed midway is tests/residence/test_resume.py. ``python -m
bench.crash`` runs many kill rounds.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from tests.builders import make_user
from tests.residence.builders import bulk_workers, make_site
from wzcheckin.accounts.api_tokens import issue_api_token
from wzcheckin.accounts.models import Worker
from wzcheckin.codes.tokens import TokenKind
from wzcheckin.core.roles import Role
from wzcheckin.enterprises.models import HealthAlert
from wzcheckin.scanning.models import Scan

pytestmark = [pytest.mark.server, pytest.mark.slow]

ANSWER_FIELDS = ("scan_id", "result", "reason", "message", "subject", "scanned_at")


@dataclass
class CrashRound:
    sent: int = 0
    acknowledged: dict[str, dict] = field(default_factory=dict)   # scan id → the first answer
    lost_in_flight: int = 0                                       # no answer: the server died
    server_errors: list[str] = field(default_factory=list)


def gate_scans(session, vault, keyring, now, count: int) -> tuple[list[tuple[dict, dict]], set[str]]:
    """``count`` gate scans by four gatekeepers of one enterprise, one in eight with a fever;
    returns the (headers, body) of each and the scan ids that must raise a health alert."""
    site = make_site(session, vault, name=f"崩溃测试{uuid.uuid4().hex[:6]}")
    workers = bulk_workers(session, vault, site, max(1, count // 2), windows=())
    staff = [make_user(session, vault, Role.GATEKEEPER, checkpoint=site.gate) for _ in range(4)]
    headers = [{"Authorization": f"Bearer {issue_api_token(session, user, now)}"} for user in staff]
    public_ids = dict(session.execute(sa.select(Worker.id, Worker.public_id).where(Worker.id.in_(workers))).all())
    session.commit()
    scans, fevers = [], set()
    for n in range(count):
        when = now - timedelta(seconds=count - n)
        token = keyring.sign(TokenKind.PASS, public_ids[workers[n % len(workers)]], when + timedelta(minutes=5),
                             issued_at=when)
        scan_id = uuid.uuid4().hex
        fever = n % 8 == 0
        if fever:
            fevers.add(scan_id)
        scans.append((headers[n % len(headers)], {"token": token, "scan_id": scan_id, "mask": True,
                                                  "temperature": 38.4 if fever else 36.5,
                                                  "scanned_at": when.isoformat(), "device": f"gate-{n % 4}"}))
    return scans, fevers


def send_until_killed(base_url: str, scans: list[tuple[dict, dict]], kill: Callable[[], None], kill_after: int,
                      threads: int = 16) -> CrashRound:
    """Send every scan; after ``kill_after`` acknowledgements, kill the server mid-stream."""
    result = CrashRound()
    lock = threading.Lock()
    killed = threading.Event()

    def send(item) -> None:
        headers, body = item
        try:
            response = requests.post(base_url + "/api/v1/scans", json=body, headers=headers, timeout=30)
        except requests.RequestException:
            with lock:
                result.lost_in_flight += 1
            return
        with lock:
            result.sent += 1
            if response.status_code >= 500:
                result.server_errors.append(f"{response.status_code} {response.text[:200]}")
            elif response.status_code == 200:
                result.acknowledged[body["scan_id"]] = response.json()
            do_kill = len(result.acknowledged) >= kill_after and not killed.is_set()
            if do_kill:
                killed.set()
        if do_kill:
            kill()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(send, scans))
    return result


def resend(base_url: str, scans: list[tuple[dict, dict]], threads: int = 16) -> dict[str, tuple[int, dict]]:
    def send(item):
        headers, body = item
        response = requests.post(base_url + "/api/v1/scans", json=body, headers=headers, timeout=120)
        return body["scan_id"], (response.status_code, response.json())

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return dict(pool.map(send, scans))


def check_round(session, scans, fevers, first: CrashRound, stored_after_kill: set[str],
                second: dict[str, tuple[int, dict]]) -> None:
    lost = set(first.acknowledged) - stored_after_kill
    assert not lost, f"{len(lost)} acknowledged scan(s) lost by the kill"
    assert not first.server_errors
    assert {status for status, _body in second.values()} == {200}
    for scan_id, answer in first.acknowledged.items():
        again = second[scan_id][1]
        assert again["replayed"] is True, scan_id
        assert {k: again[k] for k in ANSWER_FIELDS} == {k: answer[k] for k in ANSWER_FIELDS}, scan_id
    scan_ids = [body["scan_id"] for _headers, body in scans]
    session.rollback()
    rows = dict(session.execute(sa.select(Scan.scan_id, sa.func.count()).where(Scan.scan_id.in_(scan_ids))
                                .group_by(Scan.scan_id)).all())
    assert set(rows) == set(scan_ids) and set(rows.values()) == {1}, "a scan is missing or recorded twice"
    alerts = dict(session.execute(sa.select(HealthAlert.scan_id, sa.func.count()).where(
        HealthAlert.scan_id.in_(scan_ids)).group_by(HealthAlert.scan_id)).all())
    assert set(alerts) == fevers and set(alerts.values()) == {1}, "a fever alert is missing or raised twice"


def stored(session, scans) -> set[str]:
    session.rollback()
    return set(session.scalars(sa.select(Scan.scan_id).where(
        Scan.scan_id.in_([body["scan_id"] for _headers, body in scans]))))


def test_a_server_killed_mid_upload_loses_no_acknowledged_scan_and_records_none_twice(gunicorn_server, seeded):
    from wzcheckin import clock

    session, vault, keyring = seeded.session, seeded.vault, seeded.keyring
    scans, fevers = gate_scans(session, vault, keyring, clock.now(), 300)
    server = gunicorn_server(workers=2, threads=4)

    first = send_until_killed(server.base_url, scans, server.kill, kill_after=100)
    assert server.process.poll() is not None, "the server was not killed"
    assert len(first.acknowledged) >= 100 and first.lost_in_flight > 0, (len(first.acknowledged), first.lost_in_flight)
    after_kill = stored(session, scans)
    server.start()   # the same port and database, as systemd would restart it
    second = resend(server.base_url, scans)

    check_round(session, scans, fevers, first, after_kill, second)
    log = server.log_text()
    assert "database is locked" not in log
