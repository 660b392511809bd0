"""Log-in, lock-out, sessions that really end, roles on every page."""

import contextlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.builders import PASSWORD, gate_of, make_enterprise, make_user, make_worker
from tests.support.web import csrf_token_from
from wzcheckin.accounts.errors import LoginRefused
from wzcheckin.accounts.models import User, UserSession
from wzcheckin.accounts.sessions import authenticate, disable_user
from wzcheckin.core.roles import Role


def post_login(client, phone, password):
    page = client.get("/login")
    return client.post("/login", data={"csrf_token": csrf_token_from(page.text), "phone": phone,
                                       "password": password})


def test_login_starts_a_new_server_side_session(client, db, vault, programme):
    worker = make_worker(db, vault, programme)
    db.commit()
    phone = vault.decrypt(worker.user.phone_encrypted)
    with client.session_transaction() as session:
        session["planted"] = "attacker"   # session fixation: must not survive log-in
    response = post_login(client, phone, PASSWORD)
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session
        secret = session["_user_id"]
    assert len(secret) >= 40
    db.rollback()
    stored = db.scalars(sa.select(UserSession)).all()
    assert len(stored) == 1 and stored[0].secret_hash != secret  # only a hash is stored
    assert client.get("/me/pass").status_code == 200


def test_logout_ends_the_session_on_the_server(client, db, vault, programme):
    worker = make_worker(db, vault, programme)
    db.commit()
    post_login(client, vault.decrypt(worker.user.phone_encrypted), PASSWORD)
    with client.session_transaction() as session:
        stolen_cookie = dict(session)
    page = client.get("/me/pass")
    client.post("/logout", data={"csrf_token": csrf_token_from(page.text)})
    db.rollback()
    assert db.scalar(sa.select(sa.func.count(UserSession.id))) == 0
    # Replaying the old cookie contents does not log anybody in.
    with client.session_transaction() as session:
        session.update(stolen_cookie)
    assert client.get("/me/pass").status_code == 302


def test_wrong_password_and_unknown_phone_get_the_same_answer(client, db, vault, programme):
    worker = make_worker(db, vault, programme)
    db.commit()
    wrong = post_login(client, vault.decrypt(worker.user.phone_encrypted), "not-the-password")
    unknown = post_login(client, "13900000000", "not-the-password")
    assert "手机号或密码错误" in wrong.text and "手机号或密码错误" in unknown.text


def test_after_three_free_failures_each_wait_doubles_and_nothing_locks(db, vault, programme):
    """Back-off, not lock-out: three failures from one address are free; then the next attempt
    waits 1 s, then 2 s, 4 s …; once the wait has passed the right password gets in."""
    from tests.support.clock import at

    worker = make_worker(db, vault, programme)
    db.commit()
    phone = vault.decrypt(worker.user.phone_encrypted)
    start = at("2021-02-01 09:00")
    for second in range(3):
        with pytest.raises(LoginRefused, match="invalid_credentials"):
            authenticate(db, vault, phone, "wrong", start + timedelta(seconds=second), address="192.0.2.1",
                         programme=programme)
        db.commit()
    with pytest.raises(LoginRefused, match="invalid_credentials"):  # the 4th failure: 1 s to wait
        authenticate(db, vault, phone, "wrong", start + timedelta(seconds=3), address="192.0.2.1", programme=programme)
    db.commit()
    with pytest.raises(LoginRefused, match="slow_down") as waiting:  # even the right password waits
        authenticate(db, vault, phone, PASSWORD, start + timedelta(seconds=3.5), address="192.0.2.1",
                     programme=programme)
    assert waiting.value.retry_after_seconds == 1
    with pytest.raises(LoginRefused, match="invalid_credentials"):  # the 5th: 2 s
        authenticate(db, vault, phone, "wrong", start + timedelta(seconds=4), address="192.0.2.1", programme=programme)
    db.commit()
    with pytest.raises(LoginRefused, match="slow_down") as waiting:
        authenticate(db, vault, phone, PASSWORD, start + timedelta(seconds=5), address="192.0.2.1",
                     programme=programme)
    assert waiting.value.retry_after_seconds == 1
    user = authenticate(db, vault, phone, PASSWORD, start + timedelta(seconds=6), address="192.0.2.1",
                        programme=programme)
    assert user.id == worker.user_id


def test_a_stranger_elsewhere_cannot_lock_the_owner_out(db, vault, programme):
    """However many guesses come from another address, the owner at the gate waits at most the
    account's cap (a minute), never a lock-out; the guesser's own wait keeps growing."""
    from tests.support.clock import at

    gatekeeper = make_user(db, vault, Role.OFFICIAL)
    db.commit()
    phone = vault.decrypt(gatekeeper.phone_encrypted)
    start = at("2021-02-01 09:00")
    moment = start
    for _ in range(40):
        with contextlib.suppress(LoginRefused):
            authenticate(db, vault, phone, "guess-1234", moment, address="203.0.113.9", programme=programme)
        db.commit()
        moment += timedelta(seconds=30)
    longest_for_owner = timedelta(seconds=programme.accounts.login_max_account_delay_seconds)
    user = None
    for second in range(int(longest_for_owner.total_seconds()) + 2):
        try:
            user = authenticate(db, vault, phone, PASSWORD, moment + timedelta(seconds=second), address="192.0.2.7",
                                programme=programme)
            break
        except LoginRefused as refused:
            assert refused.code == "slow_down"
    assert user is not None and user.id == gatekeeper.id
    db.commit()
    with pytest.raises(LoginRefused, match="slow_down") as guesser:
        authenticate(db, vault, phone, "guess-1234", moment + timedelta(seconds=2), address="203.0.113.9",
                     programme=programme)
    assert guesser.value.retry_after_seconds > programme.accounts.login_max_account_delay_seconds


def test_an_unknown_phone_a_wrong_password_and_an_inactive_roster_account_get_one_answer(
        client, db, vault, programme):
    active = make_worker(db, vault, programme)
    inactive = make_worker(db, vault, programme, activated=False)
    db.commit()
    answers = [post_login(client, vault.decrypt(active.user.phone_encrypted), "not-the-password"),
               post_login(client, vault.decrypt(inactive.user.phone_encrypted), "not-the-password"),
               post_login(client, "13900000000", "not-the-password")]
    bodies = {answer.text.split('name="csrf_token"')[0] + answer.text.split("</form>")[-1] for answer in answers}
    assert {answer.status_code for answer in answers} == {200}
    assert all("手机号或密码错误" in answer.text for answer in answers)
    assert len(bodies) == 1


def test_a_disabled_account_loses_access_at_its_next_request(client, db, vault, programme, login_as):
    from wzcheckin import clock

    worker = make_worker(db, vault, programme)
    db.commit()
    login_as(worker.user)
    assert client.get("/me/pass").status_code == 200
    disable_user(db, db.get(User, worker.user_id), clock.now())
    db.commit()
    assert client.get("/me/pass").status_code == 302


def test_staff_sessions_time_out_when_idle(app, client, db, vault, login_as):
    from wzcheckin import clock

    official = make_user(db, vault, Role.OFFICIAL)
    login_as(official)
    row = db.scalar(sa.select(UserSession))
    row.last_seen_at = clock.now() - timedelta(minutes=app.config["STAFF_IDLE_TIMEOUT_MINUTES"] + 1)
    db.commit()
    assert client.get("/api/v1/whoami").status_code == 401


def test_roles_guard_pages(client, db, vault, login_as):
    enterprise = make_enterprise(db, vault)
    gatekeeper = make_user(db, vault, Role.GATEKEEPER, checkpoint=gate_of(db, enterprise))
    login_as(gatekeeper)
    assert client.get("/me/pass").status_code == 403


def test_pages_needing_login_redirect_anonymous_visitors(client, db):
    response = client.get("/me/pass")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_after_login_the_user_returns_to_the_page_they_wanted(client, db, vault, programme):
    worker = make_worker(db, vault, programme)
    db.commit()
    client.get("/me/pass")
    response = post_login(client, vault.decrypt(worker.user.phone_encrypted), PASSWORD)
    assert response.headers["Location"] == "/me/pass"


def test_security_headers_on_every_page(client, db):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "script-src 'self'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and "wasm-unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_pages_with_personal_data_are_not_cached(client, db, vault, programme, login_as):
    worker = make_worker(db, vault, programme)
    login_as(worker.user)
    assert client.get("/me/pass").headers["Cache-Control"] == "no-store"


def test_session_cookie_flags_in_production_config(tmp_path):
    from tests.support.config import TEST_CONFIG
    from wzcheckin import create_app

    url = f"sqlite:///{tmp_path}/x.db"
    app = create_app({**TEST_CONFIG, "HTTPS": True, "DATABASE_URL": url, "SQLALCHEMY_DATABASE_URI": url})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
