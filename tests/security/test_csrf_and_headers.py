"""CSRF on every state-changing route, generated from the app's ``url_map``, and the transport
headers and cookie flags (ASVS V3, V14).

* pages: every POST without the form's token is a 400 and changes nothing;
* the API with a session cookie (the scanner page): every write without ``X-CSRFToken`` is a 403
  ``csrf_failed`` and changes nothing; with the header it passes the check;
* the API with a bearer token needs no CSRF token (a device has no cookie to ride on);
* HSTS over HTTPS only; ``nosniff`` and a Referrer-Policy on every answer (the matrix checks the
  CSP and ``no-store`` on every page); Secure, HttpOnly, SameSite cookies in the production config.
"""

from __future__ import annotations

import sqlalchemy as sa

from tests.security.access_table import ACCESS
from tests.security.test_access_matrix import app_routes, fill
from tests.security.world import build_world, log_in
from wzcheckin.accounts.models import UserSession
from wzcheckin.core.i18n import LANGUAGE_COOKIE
from wzcheckin.db import Base

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def fingerprint(db) -> dict[str, int]:
    """Row counts of every table (sessions aside: reading a page records activity)."""
    db.rollback()
    return {table.name: db.scalar(sa.select(sa.func.count()).select_from(table))
            for table in Base.metadata.sorted_tables if table.name != UserSession.__tablename__}


def unsafe_routes(app) -> list[tuple[str, str]]:
    return [tuple(key.split(" ", 1)) for key in sorted(app_routes(app)) if key.split(" ", 1)[0] in UNSAFE]


def who_may(world, key: str):
    """The side-A principal allowed to call a route (anonymous for public ones), and its URL."""
    access = ACCESS[key]
    rule = key.split(" ", 1)[1]
    principal = world.anonymous if "anonymous" in access.roles else next(
        (p for p in world.principals() if p.role in access.roles), None)
    url = fill(rule, world.params(access.path, principal.side or "A")) if access.path else rule
    return principal, url


def test_every_write_without_a_csrf_token_is_refused_and_changes_nothing(app, db, vault, programme, keyring):
    world = build_world(db, vault, programme, keyring)
    before = fingerprint(db)
    checked = {"page": 0, "api-cookie": 0, "api-bearer": 0}
    problems = []
    for method, rule in unsafe_routes(app):
        key = f"{method} {rule}"
        assert key in ACCESS, f"{key} is not in the access table"
        principal, url = who_may(world, key)
        client = app.test_client()
        log_in(db, client, principal, app.config["SECRET_KEY"])
        if not rule.startswith("/api/"):
            response = client.open(url, method=method, data={"field": "value"})
            checked["page"] += 1
            if response.status_code != 400:
                problems.append(f"{key} as {principal.name}: {response.status_code} without a CSRF token")
            continue
        if principal.user is None:
            continue  # no public API route writes
        response = client.open(url, method=method, json={})
        checked["api-cookie"] += 1
        code = (response.get_json(silent=True) or {}).get("error", {}).get("code")
        if (response.status_code, code) != (403, "csrf_failed"):
            problems.append(f"{key} with a session cookie and no X-CSRFToken: {response.status_code} {code}")
    assert fingerprint(db) == before, "a refused write changed the database"

    # With a bearer token no CSRF token is needed: the same writes get past the check.
    for method, rule in unsafe_routes(app):
        key = f"{method} {rule}"
        principal, url = who_may(world, key)
        if not rule.startswith("/api/") or principal.token is None:
            continue
        response = app.test_client(use_cookies=False).open(
            url, method=method, json={}, headers={"Authorization": f"Bearer {principal.token}"})
        checked["api-bearer"] += 1
        code = (response.get_json(silent=True) or {}).get("error", {}).get("code")
        if code == "csrf_failed" or response.status_code >= 500:
            problems.append(f"{key} with a bearer token: {response.status_code} {code}")
    assert not problems, "\n".join(problems)
    pages = sum(1 for _method, rule in unsafe_routes(app) if not rule.startswith("/api/"))
    api = sum(1 for _method, rule in unsafe_routes(app) if rule.startswith("/api/"))
    assert checked == {"page": pages, "api-cookie": api, "api-bearer": api}


def test_the_api_with_a_session_cookie_passes_with_the_header(app, db, vault, programme, keyring):
    world = build_world(db, vault, programme, keyring)
    worker = world.sides["A"].principals["worker"]
    client = app.test_client()
    token = log_in(db, client, worker, app.config["SECRET_KEY"])
    missing = client.post("/api/v1/reservations", json={"slot_id": 1})
    assert missing.status_code == 403 and missing.get_json()["error"]["code"] == "csrf_failed"
    wrong = client.post("/api/v1/reservations", json={"slot_id": 1}, headers={"X-CSRFToken": token[:-2] + "xx"})
    assert wrong.status_code == 403 and wrong.get_json()["error"]["code"] == "csrf_failed"
    passed = client.post("/api/v1/reservations", json={"slot_id": 1}, headers={"X-CSRFToken": token})
    # Past the CSRF check: a booking, or the rules' own answer (this worker may have booked already).
    assert passed.status_code != 403 and (passed.get_json().get("error") or {}).get("code") != "csrf_failed"


def test_hsts_is_sent_over_https_only(client):
    secure = client.get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_nosniff_and_referrer_policy_on_every_kind_of_answer(client):
    answers = [client.get("/login"), client.get("/api/v1/keys"), client.get("/static/css/app.css"),
               client.get("/no-such-page"), client.get("/api/v1/no-such-thing"), client.post("/api/v1/scans"),
               client.get("/sw.js"), client.get("/manifest.webmanifest")]
    for response in answers:
        response.close()
        assert response.headers["X-Content-Type-Options"] == "nosniff", response.request.path
        assert response.headers["Referrer-Policy"] == "same-origin", response.request.path
        assert "'none'" in response.headers["Content-Security-Policy"], response.request.path


def test_cookies_are_secure_httponly_and_samesite_in_the_production_config(tmp_path):
    """The production configuration (not TESTING, not DEV): every cookie the app sets on log-in
    and on the language switch carries Secure, HttpOnly and SameSite=Lax."""
    from tests.builders import PASSWORD, make_worker
    from tests.support.config import TEST_CONFIG
    from wzcheckin import create_app
    from wzcheckin.codes.keys import create_signing_key
    from wzcheckin.core import context
    from wzcheckin.extensions import db as _db

    url = f"sqlite:///{tmp_path}/production.sqlite3"
    config = {key: TEST_CONFIG[key] for key in ("SECRET_KEY", "DATA_KEYS", "LOOKUP_KEY")}
    app = create_app({**config, "DATABASE_URL": url, "SQLALCHEMY_DATABASE_URI": url})
    assert not app.config["TESTING"] and app.config["HTTPS"]
    with app.app_context():
        _db.create_all()
        from wzcheckin import clock

        create_signing_key(_db.session, context.vault(), clock.now())
        worker = make_worker(_db.session, context.vault(), context.programme())
        phone = context.vault().decrypt(worker.user.phone_encrypted)
        _db.session.commit()
    client = app.test_client()
    page = client.get("/login", base_url="https://localhost")
    from tests.support.web import csrf_token_from

    response = client.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
                           data={"csrf_token": csrf_token_from(page.text), "phone": phone, "password": PASSWORD})
    assert response.status_code == 302
    language = client.get("/lang/en", base_url="https://localhost")
    cookies = [*page.headers.getlist("Set-Cookie"), *response.headers.getlist("Set-Cookie"),
               *language.headers.getlist("Set-Cookie")]
    names = {cookie.split("=", 1)[0] for cookie in cookies}
    assert {"wzc_session", LANGUAGE_COOKIE} <= names, cookies
    for cookie in cookies:
        flags = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
        assert "secure" in flags and "httponly" in flags, cookie
        assert flags.get("samesite", "").lower() == "samesite=lax", cookie
    with app.app_context():
        _db.engine.dispose()


def test_a_static_file_costs_a_logged_in_caller_no_database_query(app, db, vault, programme, login_as):
    """A script, a stylesheet or an icon is the same for everyone: serving one to a logged-in
    caller loads no user (no session query) and keeps it cacheable; a page loads the user and
    is never cached."""
    from tests.builders import make_worker
    from wzcheckin.extensions import db as _db

    client = login_as(make_worker(db, vault, programme).user)
    with app.app_context():
        engine = _db.engine
    statements: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        page = client.get("/me")
        page_statements, statements[:] = list(statements), []
        static = client.get("/static/css/app.css")
        static.close()
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert any("user_sessions" in s for s in page_statements), page_statements
    assert static.status_code == 200
    assert statements == []
    assert "no-store" not in static.headers.get("Cache-Control", "")
