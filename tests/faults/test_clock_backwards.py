"""Issue 19, item 3 (the server's side): when the server's own time goes backwards, a warning in
the log (once per jump) and a flag officials can be shown (``clock.backwards_jump``, /healthz)."""

from __future__ import annotations

import logging

from tests.faults.test_in_process import Records
from tests.support.clock import at
from tests.support.config import TEST_CONFIG


def test_a_clock_going_backwards_is_logged_once_and_flagged(tmp_path):
    from wzcheckin import create_app
    from wzcheckin.clock import SimulatedClock
    from wzcheckin.extensions import db

    url = f"sqlite:///{tmp_path / 'clock.sqlite3'}"
    clock_file = tmp_path / "clock"
    clock = SimulatedClock(clock_file)
    clock.set(at("2021-02-05 10:00"))
    app = create_app({**TEST_CONFIG, "DATABASE_URL": url, "SQLALCHEMY_DATABASE_URI": url,
                      "SIMULATED_CLOCK_FILE": str(clock_file)})
    with app.app_context():
        db.create_all()
    records = Records()
    logging.getLogger("wzcheckin.clock").addHandler(records)
    try:
        client = app.test_client()
        assert client.get("/healthz").json == {"status": "ok"}
        clock.set(at("2021-02-05 10:00:01.5"))
        client.get("/healthz")
        clock.set(at("2021-02-05 10:00:01"))  # half a second back is jitter, not a jump
        assert client.get("/healthz").json == {"status": "ok"}
        clock.set(at("2021-02-05 09:50"))
        went_back = client.get("/healthz", headers={"X-Request-ID": "clock-check-0001"})
        for _ in range(3):  # still behind the time handed out before: no second warning
            client.get("/healthz")
        clock.set(at("2021-02-05 09:51"))
        client.get("/healthz")
    finally:
        logging.getLogger("wzcheckin.clock").removeHandler(records)
        with app.app_context():
            db.engine.dispose()
    assert went_back.status_code == 200
    assert went_back.json == {"status": "ok", "clock_went_back": {"to": "2021-02-05T01:50:00+00:00",
                                                                  "by_seconds": 601.5}}
    assert [r.getMessage() for r in records.records] == [
        "the server's clock went back by 601.5 s, to 2021-02-05T01:50:00+00:00: times recorded from now on "
        "may be earlier than ones recorded before"]
    assert records.records[0].levelno == logging.WARNING
    assert records.records[0].request_id == "clock-check-0001"
