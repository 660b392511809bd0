"""Account lifecycle (issue 15 item 4): API tokens expire and can be listed and revoked; an
account can be disabled and enabled; a revoked token and a disabled account are refused at their
very next request. The commands run in-process on the app's own CLI."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.builders import make_phone, make_user, make_worker
from wzcheckin import clock
from wzcheckin.accounts.api_tokens import issue_api_token
from wzcheckin.accounts.models import ApiToken, User, UserSession
from wzcheckin.core.models import AuditEntry
from wzcheckin.core.roles import Role


@pytest.fixture
def runner(app, runner):
    """The real click commands in-process, each in an app context as ``wzcheckin`` gives it."""

    class InAppContext:
        def invoke(self, **kwargs):
            with app.app_context():
                return runner.invoke(**kwargs)

    return InAppContext()


def result(outcome) -> dict | list:
    """The last line a command printed, as JSON."""
    assert outcome.exit_code == 0, outcome.output
    return json.loads(outcome.stdout.strip().splitlines()[-1])


def phone_of(vault, user) -> str:
    return vault.decrypt(user.phone_encrypted)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_staff_token_expires_after_thirty_days_and_a_workers_after_ninety(runner, db, vault, programme):
    official = make_user(db, vault, Role.OFFICIAL)
    worker = make_worker(db, vault, programme)
    db.commit()
    staff_token = runner.invoke(args=["token", "create", "--phone", phone_of(vault, official)])
    worker_token = runner.invoke(args=["token", "create", "--phone", phone_of(vault, worker.user)])
    assert staff_token.exit_code == 0 and worker_token.exit_code == 0
    db.rollback()
    for user, days in ((official, programme.accounts.api_token_days_staff),
                       (worker.user, programme.accounts.api_token_days_worker)):
        row = db.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
        assert row.expires_at - row.created_at == timedelta(days=days)
    assert programme.accounts.api_token_days_staff == 30


def test_an_expired_token_is_refused(client, db, vault):
    official = make_user(db, vault, Role.OFFICIAL)
    now = clock.now()
    old = issue_api_token(db, official, now - timedelta(days=31))
    fresh = issue_api_token(db, official, now - timedelta(days=29))
    db.commit()
    assert client.get("/api/v1/whoami", headers=bearer(old)).status_code == 401
    assert client.get("/api/v1/whoami", headers=bearer(fresh)).status_code == 200


def test_token_list_shows_state_and_never_the_token(runner, db, vault):
    official = make_user(db, vault, Role.OFFICIAL)
    now = clock.now()
    live = issue_api_token(db, official, now, label="scanner-1")
    issue_api_token(db, official, now - timedelta(days=40), label="old")
    db.commit()
    rows = result(runner.invoke(args=["token", "list", "--phone", phone_of(vault, official)]))
    assert sorted((row["label"], row["state"]) for row in rows) == [("old", "expired"), ("scanner-1", "active")]
    listing = runner.invoke(args=["token", "list", "--phone", phone_of(vault, official)]).output
    assert live not in listing and live[4:20] not in listing


def test_a_revoked_token_is_refused_at_its_next_request(client, runner, db, vault):
    gatekeeper = make_user(db, vault, Role.OFFICIAL)
    now = clock.now()
    revoked, kept = issue_api_token(db, gatekeeper, now), issue_api_token(db, gatekeeper, now)
    db.commit()
    assert client.get("/api/v1/whoami", headers=bearer(revoked)).status_code == 200
    revoked_id = db.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == gatekeeper.id).order_by(ApiToken.id))
    answer = result(runner.invoke(args=["token", "revoke", "--phone", phone_of(vault, gatekeeper), str(revoked_id)]))
    assert answer["revoked"] == [revoked_id]
    refused = client.get("/api/v1/whoami", headers=bearer(revoked))
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "unauthorised"
    assert client.get("/api/v1/whoami", headers=bearer(kept)).status_code == 200
    everything = result(runner.invoke(args=["token", "revoke", "--phone", phone_of(vault, gatekeeper), "--all"]))
    assert len(everything["revoked"]) == 1
    assert client.get("/api/v1/whoami", headers=bearer(kept)).status_code == 401
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "token.revoke")) == 2


def test_token_revoke_needs_all_or_one_id_of_that_account(runner, db, vault):
    official, other = make_user(db, vault, Role.OFFICIAL), make_user(db, vault, Role.OFFICIAL)
    issue_api_token(db, other, clock.now())
    db.commit()
    others_token = db.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == other.id))
    phone = phone_of(vault, official)
    assert runner.invoke(args=["token", "revoke", "--phone", phone]).exit_code == 1
    assert runner.invoke(args=["token", "revoke", "--phone", phone, "--all", "1"]).exit_code == 1
    assert runner.invoke(args=["token", "revoke", "--phone", phone, str(others_token)]).exit_code == 1
    assert runner.invoke(args=["token", "revoke", "--phone", make_phone(), "--all"]).exit_code == 1
    db.rollback()
    assert db.get(ApiToken, others_token).revoked_at is None


def test_a_disabled_account_is_refused_at_its_next_request_and_enable_lets_it_log_in_again(
        client, runner, db, vault, programme, login_as):
    worker = make_worker(db, vault, programme)
    token = issue_api_token(db, worker.user, clock.now())
    db.commit()
    login_as(worker.user)
    assert client.get("/me/pass").status_code == 200
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    phone = phone_of(vault, worker.user)

    disabled = result(runner.invoke(args=["user", "disable", "--phone", phone, "--reason", "冒用身份"]))
    assert disabled["user_id"] == worker.user_id and disabled["tokens_revoked"] == 1
    assert client.get("/me/pass").status_code == 302                       # the session is gone
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401  # and the token
    db.rollback()
    user = db.get(User, worker.user_id)
    assert user.disabled_reason == "冒用身份"
    assert db.scalar(sa.select(sa.func.count(UserSession.id)).where(UserSession.user_id == user.id)) == 0
    assert runner.invoke(args=["user", "disable", "--phone", phone, "--reason", "again"]).exit_code == 1
    assert runner.invoke(args=["token", "create", "--phone", phone]).exit_code == 1

    assert result(runner.invoke(args=["user", "enable", "--phone", phone])) == {"user_id": user.id, "enabled": True}
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401  # old tokens stay revoked
    db.rollback()
    login_as(db.get(User, worker.user_id))
    assert client.get("/me/pass").status_code == 200
    assert runner.invoke(args=["user", "enable", "--phone", phone]).exit_code == 1
    actions = set(db.scalars(sa.select(AuditEntry.action).where(AuditEntry.target_id == str(user.id))))
    assert {"user.disable", "user.enable"} <= actions


def test_disable_needs_a_reason(runner, db, vault):
    official = make_user(db, vault, Role.OFFICIAL)
    db.commit()
    assert runner.invoke(args=["user", "disable", "--phone", phone_of(vault, official)]).exit_code == 2
    assert runner.invoke(args=["user", "disable", "--phone", phone_of(vault, official), "--reason", "  "]).exit_code == 1
    db.rollback()
    assert db.get(User, official.id).disabled_at is None
