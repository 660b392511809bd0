"""Sessions and log-in (ASVS V6, V7), beyond what tests/accounts/test_login.py already proves
(a new session at log-in, log-out ending it on the server, the idle timeout, the lock-out rule):

* staff sessions also end at their absolute age, whatever their activity; workers' at theirs;
* a disabled account loses access at its next request — its session and its API tokens alike,
  even when it was disabled by a plain UPDATE that revoked nothing;
* the lock-out after 5 failures per account in 15 minutes is counted in the database, so it
  holds across gunicorn worker processes (proved with an access log naming each request's
  process) and a forged X-Forwarded-For changes nothing;
* the per-address rate limit (Flask-Limiter) keys on the socket's address unless proxies are
  trusted, so a forged X-Forwarded-For does not reset it;
* registering does not tell a stranger whether an ID number is on file.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from tests.builders import PASSWORD, make_credit_code, make_phone, make_unique_id_number, make_user, make_worker
from tests.support.web import csrf_token_from, register_with_code
from wzcheckin import clock
from wzcheckin.accounts.api_tokens import issue_api_token
from wzcheckin.accounts.models import User, UserSession
from wzcheckin.core.roles import Role


def age_session(db, *, created: timedelta, idle: timedelta) -> None:
    row = db.scalar(sa.select(UserSession))
    now = clock.now()
    row.created_at, row.last_seen_at = now - created, now - idle
    db.commit()


def test_staff_sessions_end_at_their_absolute_age_even_when_active(app, client, db, vault, login_as):
    official = make_user(db, vault, Role.OFFICIAL)
    login_as(official)
    hours = app.config["STAFF_ABSOLUTE_TIMEOUT_HOURS"]
    age_session(db, created=timedelta(hours=hours) - timedelta(minutes=1), idle=timedelta(seconds=5))
    assert client.get("/api/v1/whoami").status_code == 200          # old, but not too old
    age_session(db, created=timedelta(hours=hours, minutes=1), idle=timedelta(seconds=5))
    assert client.get("/api/v1/whoami").status_code == 401          # active a moment ago, yet over age
    assert client.get("/health/alerts").status_code == 302


def test_worker_sessions_end_at_theirs_and_are_not_cut_by_the_staff_idle_rule(app, client, db, vault, programme,
                                                                              login_as):
    worker = make_worker(db, vault, programme)
    login_as(worker.user)
    idle = timedelta(minutes=app.config["STAFF_IDLE_TIMEOUT_MINUTES"] + 60)
    age_session(db, created=timedelta(days=2), idle=idle)
    assert client.get("/me/pass").status_code == 200                # a phone left for a while stays logged in
    age_session(db, created=timedelta(days=app.config["WORKER_SESSION_DAYS"], minutes=1), idle=timedelta(0))
    assert client.get("/me/pass").status_code == 302


@pytest.mark.parametrize("role", [Role.WORKER, Role.GATEKEEPER, Role.OFFICIAL])
def test_a_disabled_account_loses_its_session_and_its_api_tokens_at_the_next_request(role, app, db, vault, programme,
                                                                                    login_as, client):
    from tests.builders import gate_of, make_enterprise

    if role is Role.WORKER:
        user = make_worker(db, vault, programme).user
    else:
        checkpoint = gate_of(db, make_enterprise(db, vault)) if role is Role.GATEKEEPER else None
        user = make_user(db, vault, role, checkpoint=checkpoint)
    token = issue_api_token(db, user, clock.now())
    db.commit()
    login_as(user)
    bearer = app.test_client(use_cookies=False)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/whoami").status_code == 200
    assert bearer.get("/api/v1/whoami", headers=headers).status_code == 200
    # Disabled the bluntest way (a plain UPDATE, nothing revoked): access still ends at once.
    db.execute(sa.update(User).where(User.id == user.id).values(disabled_at=clock.now()))
    db.commit()
    assert client.get("/api/v1/whoami").status_code == 401
    answer = bearer.get("/api/v1/whoami", headers=headers)
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "unauthorised"


# --- brute force -------------------------------------------------------------------------------

def forged_address() -> str:
    return f"203.0.113.{uuid.uuid4().int % 250 + 1}"


def login_over_http(base_url: str, phone: str, password: str, *, language: str = "en") -> requests.Response:
    with requests.Session() as http:
        page = http.get(base_url + "/login", timeout=60)
        return http.post(base_url + "/login", timeout=60, allow_redirects=False,
                         data={"csrf_token": csrf_token_from(page.text), "phone": phone, "password": password},
                         headers={"X-Forwarded-For": forged_address(), "Accept-Language": language})


@pytest.mark.server
def test_the_backoff_is_counted_across_gunicorn_workers_and_ignores_a_forged_address(gunicorn_server, server_app,
                                                                                      tmp_path):
    """Eight wrong passwords at once, served by both worker processes, all count in the one
    shared back-off (the database), so the right password must wait; a forged X-Forwarded-For
    does not give each guess a fresh address; somebody else logs in as usual."""
    from wzcheckin.core import context
    from wzcheckin.extensions import db

    worker = make_worker(db.session, context.vault(), context.programme(), phone=make_phone("139"))
    bystander = make_worker(db.session, context.vault(), context.programme(), phone=make_phone("139"))
    db.session.commit()
    phone = context.vault().decrypt(worker.user.phone_encrypted)
    access_log = tmp_path / "access.log"
    # One free failure per account and address, so eight failures leave a wait of many seconds.
    from wzcheckin.config import DEFAULT_PROGRAMME

    programme_file = tmp_path / "programme.toml"
    programme_file.write_text(DEFAULT_PROGRAMME.read_text(encoding="utf-8").replace(
        "login_free_failures_per_account_and_address = 3", "login_free_failures_per_account_and_address = 1"),
        encoding="utf-8")
    # A stopped simulated clock: a wait, once set, lasts the whole test (no race with the real one).
    clock_file = tmp_path / "clock"
    clock_file.write_text("2021-02-01T09:00:00+08:00", encoding="utf-8")
    server = gunicorn_server(workers=2, env={"WZCHECKIN_PROGRAMME": str(programme_file), "WZCHECKIN_DEV": "1",
                                             "WZCHECKIN_SIMULATED_CLOCK_FILE": str(clock_file)},
                             extra_args=["--access-logfile", str(access_log),
                                                    "--access-logformat", "%(p)s %(m)s %(U)s %(s)s"])

    def processes(path: str, method: str = "GET") -> set[str]:
        """The worker processes that served ``method path``, from the access log."""
        return {line.split()[0] for line in access_log.read_text().splitlines()
                if line.split()[1:3] == [method, path]}

    # Both worker processes up (the server answers as soon as the first one is).
    deadline = time.monotonic() + 60
    while len(processes("/healthz")) < 2 and time.monotonic() < deadline:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda _n: requests.get(server.base_url + "/healthz", timeout=30), range(4)))
    barrier = threading.Barrier(8)

    def wrong_password(_n):
        with requests.Session() as http:
            page = http.get(server.base_url + "/login", timeout=60)
            barrier.wait()  # eight failures at once: both worker processes take some
            answer = http.post(server.base_url + "/login", timeout=60, allow_redirects=False,
                               data={"csrf_token": csrf_token_from(page.text), "phone": phone,
                                     "password": "wrong-1234"},
                               headers={"X-Forwarded-For": forged_address(), "Accept-Language": "en"})
            return answer.status_code, "Too many failed attempts" in answer.text

    # Which process accepts a connection is the kernel's choice, and one burst can land on one
    # process alone: send bursts (each counts the same way) until both have served some, up to five.
    answers: list[tuple[int, bool]] = []
    while not answers or (len(processes("/login", "POST")) < 2 and len(answers) < 40):
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers += pool.map(wrong_password, range(8))
    attempts = len(answers)
    assert [status for status, _waited in answers] == [200] * attempts
    told_to_wait = sum(waited for _status, waited in answers)
    served_by = processes("/login", "POST")
    assert len(served_by) == 2, f"the failures were all served by one process: {served_by}"

    from wzcheckin.accounts.models import LoginBackoff

    counts = dict(db.session.execute(sa.select(LoginBackoff.key, LoginBackoff.failures)).all())
    db.session.rollback()
    pair = [count for key, count in counts.items() if key.startswith("pair:")]
    # Every attempt either counted in the one shared count or was told to wait because of it.
    assert pair and pair[0] >= 2 and pair[0] + told_to_wait == attempts, (counts, told_to_wait)
    assert len([key for key in counts if key.startswith("address:")]) == 1  # the socket's address only

    refused = login_over_http(server.base_url, phone, PASSWORD)
    assert refused.status_code == 200 and "Too many failed attempts" in refused.text
    assert int(refused.headers["Retry-After"]) >= 1
    refused_zh = login_over_http(server.base_url, phone, PASSWORD, language="zh-CN")
    assert "失败次数过多" in refused_zh.text
    # Per account: somebody else logs in as usual from the same (forged) addresses.
    bystander_phone = context.vault().decrypt(bystander.user.phone_encrypted)
    assert login_over_http(server.base_url, bystander_phone, PASSWORD).status_code == 302
    assert "Traceback" not in server.log_text()


def test_the_per_address_limit_is_not_reset_by_a_forged_x_forwarded_for(app, client, db):
    """``/login`` allows 10 attempts a minute per address (Flask-Limiter). With no trusted proxy
    (WZCHECKIN_TRUSTED_PROXIES=0, the default) the address is the socket's: a header naming a new
    address every time changes nothing. Another real address has its own allowance."""
    assert app.config["TRUSTED_PROXIES"] == 0 and app.config["RATELIMIT_ENABLED"]
    page = client.get("/login")
    token = csrf_token_from(page.text)
    statuses = []
    for _ in range(11):
        response = client.post("/login", data={"csrf_token": token, "phone": "13900000000", "password": "x" * 8},
                               headers={"X-Forwarded-For": forged_address(), "X-Real-IP": forged_address()})
        statuses.append(response.status_code)
    assert statuses == [200] * 10 + [429]
    limited = client.post("/login", data={"csrf_token": token}, headers={"X-Forwarded-For": "198.51.100.7"})
    assert limited.status_code == 429
    other = app.test_client()
    other_page = other.get("/login", environ_base={"REMOTE_ADDR": "192.0.2.44"})
    assert other.post("/login", environ_base={"REMOTE_ADDR": "192.0.2.44"},
                      data={"csrf_token": csrf_token_from(other_page.text), "phone": "13900000000",
                            "password": "x" * 8}).status_code == 200


# --- registration tells no one whether an ID number is on file ----------------------------------

def register(client, db, fields: dict) -> tuple[int, str]:
    """Both pages: a code for the phone (the code is proven: this is its owner), then the details.
    The codes and their texts are cleared afterwards, so the resend limit does not answer the next
    attempt."""
    from wzcheckin.accounts.models import OneTimeCode
    from wzcheckin.residence.models import SmsMessage

    response = register_with_code(client, db, fields, headers={"Accept-Language": "en"})
    db.rollback()
    db.execute(sa.delete(SmsMessage))
    db.execute(sa.delete(OneTimeCode))
    db.commit()
    return response.status_code, response.get_data(as_text=True)


def words(html: str, *typed: str) -> str:
    """The page as a reader sees it: without the per-session token and what they typed."""
    html = re.sub(r'name="csrf_token"[^>]*value="[^"]*"|value="[^"]*"[^>]*name="csrf_token"', "", html)
    for value in typed:
        html = html.replace(value, "TYPED")
    return html


@pytest.mark.parametrize("mistake", ["pledge not ticked", "passwords differ", "phone on file", "bad employer code"])
def test_registration_answers_the_same_for_an_existing_and_a_new_id_number(mistake, app, db, vault, programme):
    on_file = make_worker(db, vault, programme)
    phone_on_file = vault.decrypt(on_file.user.phone_encrypted)
    id_on_file = vault.decrypt(on_file.id_number_encrypted)
    db.commit()
    unknown_employer, new_phone = make_credit_code(), make_phone("138")  # valid, but no such enterprise
    answers = []
    for id_number in (id_on_file, make_unique_id_number()):
        fields = {"name": "王小明", "id_number": id_number, "phone": new_phone, "hukou": "",
                  "password": "a-long-password-1", "password_confirm": "a-long-password-1", "pledge": "y",
                  "credit_code": ""}
        if mistake == "pledge not ticked":
            del fields["pledge"]
        elif mistake == "passwords differ":
            fields["password_confirm"] = "another-password-2"
        elif mistake == "phone on file":
            fields["phone"] = phone_on_file
        else:
            fields["credit_code"] = unknown_employer
        status, html = register(app.test_client(), db, fields)
        answers.append((status, words(html, id_number, fields["phone"])))
    (status_on_file, page_on_file), (status_new, page_new) = answers
    assert status_on_file == status_new == 200
    assert page_on_file == page_new
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(User)) == 1  # nobody was registered
