"""The error path in-process, on a real SQLite file whose write lock an outside connection holds:
the answers (503 JSON or a page in the reader's language, Retry-After), the request id on every
answer and log record, one log line per kind of outage and no traceback."""

from __future__ import annotations

import logging
import re
import sqlite3

import pytest

from tests.support.config import TEST_CONFIG
from wzcheckin.core.logs import RateLimitedLog, RequestIdFilter, sane_request_id


class Records(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.addFilter(RequestIdFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def locked_app(tmp_path_factory):
    """An app with a short lock wait on its own SQLite file, one official in it."""
    from tests.builders import PASSWORD, make_phone, make_user
    from wzcheckin import create_app
    from wzcheckin.core import context
    from wzcheckin.core.roles import Role
    from wzcheckin.extensions import db

    path = tmp_path_factory.mktemp("locked") / "app.sqlite3"
    url = f"sqlite:///{path}"
    app = create_app({**TEST_CONFIG, "DATABASE_URL": url, "SQLALCHEMY_DATABASE_URI": url,
                      "DB_LOCK_TIMEOUT_SECONDS": 0.2, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                      "OUTAGE_LOG_INTERVAL_SECONDS": 3600})
    phone = make_phone("137")
    with app.app_context():
        db.create_all()
        make_user(db.session, context.vault(), Role.OFFICIAL, phone=phone)
        db.session.commit()
    app.config["TEST_PHONE"], app.config["TEST_PASSWORD"] = phone, PASSWORD
    app.config["TEST_PATH"] = path
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def write_lock_held(locked_app):
    outsider = sqlite3.connect(locked_app.config["TEST_PATH"], isolation_level=None)
    outsider.execute("BEGIN EXCLUSIVE")
    locked_app.extensions["wzcheckin.outage_log"]._kinds.clear()  # each test starts a fresh outage
    yield
    outsider.execute("ROLLBACK")
    outsider.close()


@pytest.fixture
def records():
    handler = Records()
    logging.getLogger().addHandler(handler)
    yield handler.records
    logging.getLogger().removeHandler(handler)


def test_request_ids_are_kept_when_sane_and_replaced_otherwise():
    assert sane_request_id("7f1c2a9e-51b0-4a8e-9c55-0d3f1e2a4b6c") == "7f1c2a9e-51b0-4a8e-9c55-0d3f1e2a4b6c"
    assert sane_request_id("nginx:4f9a0c1e77b2") == "nginx:4f9a0c1e77b2"
    for bad in (None, "", "short", "x" * 129, "has space in it", "line\nbreak-0000", "<script>alert(1)</script>",
                "req-13812345678", "13812345678-trace", "id-11010519491231002X", "110105194912310021",
                "req_110105491231002"):
        assert sane_request_id(bad) is None, bad


def test_every_answer_names_its_request(locked_app):
    client = locked_app.test_client()
    given = client.get("/healthz", headers={"X-Request-ID": "trace-0123456789ab"})
    assert given.status_code == 200
    assert given.headers["X-Request-ID"] == "trace-0123456789ab"
    made = client.get("/nowhere", headers={"X-Request-ID": "phone-13812345678"})
    assert made.status_code == 404
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    assert client.get("/healthz").headers["X-Request-ID"] != made.headers["X-Request-ID"]


def test_an_api_write_past_the_lock_wait_is_a_503_database_busy(locked_app, write_lock_held, records):
    client = locked_app.test_client()
    first = client.get("/healthz", headers={"X-Request-ID": "first-outage-0001"})
    assert first.status_code == 503
    assert first.mimetype == "application/json"
    assert first.json == {"status": "unavailable", "error": {
        "code": "database_busy", "message": "服务当前繁忙，请几秒钟后再试。"}}
    assert first.headers["Retry-After"] == "5"
    assert first.headers["Cache-Control"] == "no-store"
    assert first.headers["X-Request-ID"] == "first-outage-0001"

    token_free_write = client.post("/api/v1/me/data-bonus", json={}, headers={"Accept-Language": "en"})
    assert token_free_write.status_code == 401  # refused before any write: no outage to report
    lines = [r for r in records if r.name == "wzcheckin.outage"]
    assert len(lines) == 1
    assert lines[0].request_id == "first-outage-0001"
    assert lines[0].exc_info is None
    assert "database_busy" in lines[0].getMessage() and "SQLITE_BUSY" in lines[0].getMessage()

    for _ in range(5):
        assert client.get("/healthz").status_code == 503
    assert len([r for r in records if r.name == "wzcheckin.outage"]) == 1  # one line per kind
    assert not [r for r in records if r.exc_info]


def test_a_page_write_past_the_lock_wait_is_a_503_page_in_the_readers_language(locked_app, write_lock_held, records):
    form = {"phone": locked_app.config["TEST_PHONE"], "password": "wrong-password-123"}
    client = locked_app.test_client()
    chinese = client.post("/login", data=form)
    assert chinese.status_code == 503
    assert chinese.mimetype == "text/html"
    assert chinese.headers["Retry-After"] == "5"
    page = chinese.get_data(as_text=True)
    assert "暂时无法使用" in page and "服务当前繁忙" in page
    assert locked_app.config["TEST_PHONE"] not in page

    english = client.post("/login", data=form, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert english.status_code == 503
    assert "Temporarily unavailable" in english.get_data(as_text=True)
    cookie = locked_app.test_client()
    cookie.set_cookie("wzc_lang", "en")
    assert "very busy" in cookie.post("/login", data=form).get_data(as_text=True)
    assert not [r for r in records if r.exc_info]


def test_once_the_lock_is_released_writes_go_through(locked_app):
    client = locked_app.test_client()
    assert client.get("/healthz").json == {"status": "ok"}
    refused = client.post("/login", data={"phone": locked_app.config["TEST_PHONE"], "password": "wrong-password-123"})
    assert refused.status_code == 200  # the form again, with its error: the failed log-in was counted


def test_one_line_per_kind_and_interval_saying_how_many_were_left_out():
    logger = logging.getLogger("tests.faults.rate_limited")
    handler = Records()
    logger.addHandler(handler)
    try:
        outages = RateLimitedLog(logger, interval=3600)
        assert outages.error("database_busy", "busy %s", "a") is True
        assert [outages.error("database_busy", "busy %s", "b") for _ in range(3)] == [False] * 3
        assert outages.error("disk_full", "full") is True  # another kind has its own line
        outages.interval = 0  # the interval is over
        assert outages.error("database_busy", "busy %s", "c") is True
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage() for r in handler.records] == [
        "busy a", "full", "busy c (3 more like it since the last line)"]
    assert all(r.levelno == logging.ERROR and r.request_id == "-" for r in handler.records)
