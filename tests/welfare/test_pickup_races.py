"""The welfare-pack invariants under real concurrency: a gunicorn server with two worker
processes (and threads), on SQLite and PostgreSQL, hit by many simultaneous scans.

* one pass scanned 40 times at once at two pickup points → exactly one pack, stock down by one;
* one scan uploaded 10 times at once (same scan_id) → recorded once, the same answer to all;
* 30 workers racing for 5 packs → exactly 5 handed out, the rest ``out_of_stock``;
* no 5xx and no "database is locked" anywhere in the server's log.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from tests.builders import make_worker
from tests.scanning.builders import bearer, scan_id
from tests.welfare.builders import make_pickup_point, make_pickup_staff
from wzcheckin import clock
from wzcheckin.codes.passes import current_pass
from wzcheckin.scanning.models import Scan
from wzcheckin.welfare.models import PackHandout, PickupPoint

pytestmark = [pytest.mark.server, pytest.mark.slow]


def fire(server, requests_to_send):
    """Send every (headers, body) at once; return the (status, json) answers."""
    def send(item):
        headers, body = item
        response = requests.post(server.base_url + "/api/v1/scans", json=body, headers=headers, timeout=120)
        return response.status_code, response.json() if response.headers.get("Content-Type", "").startswith(
            "application/json") else None

    with ThreadPoolExecutor(max_workers=len(requests_to_send)) as pool:
        return list(pool.map(send, requests_to_send))


def assert_clean_log(server):
    log = server.log_text()
    assert "database is locked" not in log
    assert "Traceback" not in log


def test_one_pass_scanned_40_times_at_two_points_gets_exactly_one_pack(gunicorn_server, seeded):
    session, vault, programme, keyring = seeded.session, seeded.vault, seeded.programme, seeded.keyring
    points = [make_pickup_point(session, stock=10), make_pickup_point(session, stock=10)]
    headers = [bearer(session, make_pickup_staff(session, vault, p), clock.now()) for p in points]
    worker = make_worker(session, vault, programme)
    token = current_pass(worker, keyring, programme, clock.now()).token
    session.commit()
    server = gunicorn_server(workers=2, threads=4)

    answers = fire(server, [(headers[i % 2], {"token": token, "scan_id": scan_id()}) for i in range(40)])

    assert [status for status, _ in answers] == [200] * 40
    reasons = sorted(body["reason"] for _, body in answers)
    assert reasons == ["already_collected"] * 39 + ["pack_handed_out"]
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(PackHandout)) == 1
    assert session.scalar(sa.select(sa.func.sum(PickupPoint.stock))) == 19
    assert session.scalar(sa.select(sa.func.sum(PickupPoint.handed_out))) == 1

    # One queued scan uploaded ten times at once (a device retrying on a flaky link): one record,
    # one pack, and every upload gets the same first answer.
    other = make_worker(session, vault, programme)
    other_token = current_pass(other, keyring, programme, clock.now()).token
    session.commit()
    twin = scan_id()
    answers = fire(server, [(headers[0], {"token": other_token, "scan_id": twin})] * 10)
    assert [status for status, _ in answers] == [200] * 10
    assert {(body["scan_id"], body["result"], body["reason"]) for _, body in answers} == {
        (twin, "accepted", "pack_handed_out")}
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Scan).where(Scan.scan_id == twin)) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(PackHandout)) == 2
    assert session.scalar(sa.select(sa.func.sum(PickupPoint.stock))) == 18
    assert_clean_log(server)


def test_thirty_workers_racing_for_five_packs_get_exactly_five(gunicorn_server, seeded):
    session, vault, programme, keyring = seeded.session, seeded.vault, seeded.programme, seeded.keyring
    point = make_pickup_point(session, stock=5)
    staff_headers = bearer(session, make_pickup_staff(session, vault, point), clock.now())
    workers = [make_worker(session, vault, programme) for _ in range(30)]
    tokens = [current_pass(w, keyring, programme, clock.now()).token for w in workers]
    session.commit()
    server = gunicorn_server(workers=2, threads=4)

    answers = fire(server, [(staff_headers, {"token": token, "scan_id": scan_id()}) for token in tokens])

    assert [status for status, _ in answers] == [200] * 30
    reasons = sorted(body["reason"] for _, body in answers)
    assert reasons == ["out_of_stock"] * 25 + ["pack_handed_out"] * 5
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(PackHandout)) == 5
    assert session.scalar(sa.select(PickupPoint.stock)) == 0
    assert session.scalar(sa.select(PickupPoint.handed_out)) == 5
    assert_clean_log(server)
