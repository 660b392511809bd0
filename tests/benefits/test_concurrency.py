"""The double claim under real concurrency: one worker sends 20 claims at once to a gunicorn
server with two worker processes. Exactly one succeeds; the rest are 409 already_claimed."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
import requests
import sqlalchemy as sa

from tests.builders import make_phone, make_worker

pytestmark = pytest.mark.server

ATTEMPTS = 20


def seed_worker_with_token(server_app) -> tuple[int, str]:
    from wzcheckin import clock
    from wzcheckin.accounts.api_tokens import issue_api_token
    from wzcheckin.core import context
    from wzcheckin.extensions import db

    db.create_all()  # tables of rooms newer than the migration (a no-op once it is regenerated)
    worker = make_worker(db.session, context.vault(), context.programme(), phone=make_phone("139"))
    token = issue_api_token(db.session, worker.user, clock.now(), label="test")
    db.session.commit()
    return worker.id, token


def test_twenty_simultaneous_claims_give_exactly_one(gunicorn_server, server_app, claim_window_env):
    from wzcheckin.benefits.models import DataBonusClaim
    from wzcheckin.extensions import db

    worker_id, token = seed_worker_with_token(server_app)
    server = gunicorn_server(workers=2, env=claim_window_env)
    barrier = Barrier(ATTEMPTS)

    def claim(_n):
        with requests.Session() as http:
            barrier.wait()
            response = http.post(server.base_url + "/api/v1/me/data-bonus",
                                 headers={"Authorization": f"Bearer {token}"}, timeout=60)
            return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        answers = list(pool.map(claim, range(ATTEMPTS)))

    codes = sorted(status for status, _body in answers)
    assert codes == [201] + [409] * (ATTEMPTS - 1), answers
    assert all(body["error"]["code"] == "already_claimed" for status, body in answers if status == 409)
    db.session.rollback()
    rows = db.session.scalars(sa.select(DataBonusClaim).where(DataBonusClaim.worker_id == worker_id)).all()
    assert len(rows) == 1 and rows[0].carrier == "china_mobile"
    assert "Traceback" not in server.log_text() and "database is locked" not in server.log_text()
