"""Never overbook: real concurrent requests against a running gunicorn (2 worker processes), on
SQLite and PostgreSQL. Every request is released at the same moment by a barrier."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
import sqlalchemy as sa

from tests.venues.builders import make_booker, make_slot, make_venue
from wzcheckin.accounts.api_tokens import issue_api_token
from wzcheckin.core import context
from wzcheckin.extensions import db
from wzcheckin.venues.models import Reservation, ReservationStatus, Slot

pytestmark = [pytest.mark.server, pytest.mark.slow]


def seed(worker_count: int, capacity: int):
    """A slot tomorrow and ``worker_count`` eligible workers with API tokens, written through the
    domain functions (no password hashing: bearer tokens need none)."""
    session, vault, programme = db.session, context.vault(), context.programme()
    now = datetime.now(UTC)
    slot = make_slot(session, make_venue(session), now + timedelta(days=1), capacity=capacity)
    tokens = []
    for _ in range(worker_count):
        worker = make_booker(session, vault, programme, activated=False)
        tokens.append(issue_api_token(session, worker.user, now))
    session.commit()
    return slot.id, tokens


def fire(base_url: str, slot_id: int, tokens: list[str]) -> list[tuple[int, dict]]:
    barrier = threading.Barrier(len(tokens))

    def one(token: str) -> tuple[int, dict]:
        barrier.wait()
        response = requests.post(f"{base_url}/api/v1/reservations", json={"slot_id": slot_id},
                                 headers={"Authorization": f"Bearer {token}"}, timeout=120)
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        return list(pool.map(one, tokens))


def test_300_workers_racing_for_30_places_get_exactly_30(server_database, gunicorn_server, server_app):
    slot_id, tokens = seed(300, 30)
    server = gunicorn_server(workers=2)

    results = fire(server.base_url, slot_id, tokens)

    statuses = Counter(status for status, _body in results)
    assert statuses == {201: 30, 409: 270}, (statuses, server.log_text()[-3000:])
    assert {body["error"]["code"] for status, body in results if status == 409} == {"slot_full"}
    booked_ids = {body["id"] for status, body in results if status == 201}
    assert len(booked_ids) == 30
    db.session.rollback()
    reservations = db.session.scalars(sa.select(Reservation).where(Reservation.slot_id == slot_id)).all()
    assert len(reservations) == 30 and {r.public_id for r in reservations} == booked_ids
    assert all(r.status is ReservationStatus.BOOKED for r in reservations)
    assert len({r.worker_id for r in reservations}) == 30
    assert db.session.scalar(sa.select(Slot.taken).where(Slot.id == slot_id)) == 30
    assert "Traceback" not in server.log_text()


def test_one_worker_hammering_one_slot_gets_one_booking(server_database, gunicorn_server, server_app):
    slot_id, tokens = seed(1, 5)
    server = gunicorn_server(workers=2)

    results = fire(server.base_url, slot_id, tokens * 20)

    statuses = Counter(status for status, _body in results)
    # One booking made; every other try answered with that same booking (a retry, not a refusal).
    assert statuses == {201: 1, 200: 19}, (statuses, server.log_text()[-3000:])
    assert {body["id"] for _status, body in results} == {results[0][1]["id"]}
    assert all(body["replayed"] for status, body in results if status == 200)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Reservation.id))) == 1
    assert db.session.scalar(sa.select(Slot.taken).where(Slot.id == slot_id)) == 1
    assert "Traceback" not in server.log_text()
