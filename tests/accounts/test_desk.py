"""The officials' accounts desk (issue 15 items 2 and 4): the same as ``wzcheckin user
disable|enable`` and ``token revoke``, plus resetting a staff password; every action audited."""

import re

import sqlalchemy as sa

from tests.builders import PASSWORD, make_user
from tests.support.web import csrf_token_from
from wzcheckin import clock
from wzcheckin.accounts.api_tokens import issue_api_token
from wzcheckin.accounts.models import ApiToken, User
from wzcheckin.core.models import AuditEntry
from wzcheckin.core.roles import Role


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def actions(db) -> list[str]:
    db.rollback()
    return list(db.scalars(sa.select(AuditEntry.action).where(AuditEntry.target_type == "user").order_by(AuditEntry.id)))


def test_an_official_finds_disables_and_enables_an_account(app, client, db, vault, login_as):
    official = make_user(db, vault, Role.OFFICIAL)
    gatekeeper = make_user(db, vault, Role.CARRIER, carrier="china_mobile")
    token = issue_api_token(db, gatekeeper, clock.now())
    db.commit()
    login_as(official)
    phone = vault.decrypt(gatekeeper.phone_encrypted)
    found = client.post("/official/accounts", data={"csrf_token": csrf_token_from(client.get("/official/accounts").text),
                                                    "phone": phone})
    assert found.status_code == 302 and phone not in found.headers["Location"]
    page = client.get(found.headers["Location"])
    assert page.status_code == 200 and gatekeeper.phone_masked in page.text and phone not in page.text
    csrf = csrf_token_from(page.text)
    assert app.test_client().get("/api/v1/whoami", headers=bearer(token)).status_code == 200

    no_reason = client.post(f"/official/accounts/{gatekeeper.id}/disable", data={"csrf_token": csrf, "reason": " "})
    assert no_reason.status_code == 302 and actions(db) == []
    client.post(f"/official/accounts/{gatekeeper.id}/disable", data={"csrf_token": csrf, "reason": "离职"})
    assert app.test_client().get("/api/v1/whoami", headers=bearer(token)).status_code == 401  # at its next request
    db.rollback()
    assert db.get(User, gatekeeper.id).disabled_reason == "离职"
    assert "离职" in client.get(f"/official/accounts/{gatekeeper.id}").text
    client.post(f"/official/accounts/{gatekeeper.id}/enable", data={"csrf_token": csrf})
    db.rollback()
    assert db.get(User, gatekeeper.id).disabled_at is None
    assert actions(db) == ["user.disable", "user.enable"]


def test_an_official_revokes_one_token_or_all(app, client, db, vault, login_as):
    official = make_user(db, vault, Role.OFFICIAL)
    carrier = make_user(db, vault, Role.CARRIER, carrier="china_mobile")
    first, second = issue_api_token(db, carrier, clock.now()), issue_api_token(db, carrier, clock.now())
    db.commit()
    first_id = db.scalar(sa.select(sa.func.min(ApiToken.id)))
    login_as(official)
    csrf = csrf_token_from(client.get(f"/official/accounts/{carrier.id}").text)
    client.post(f"/official/accounts/{carrier.id}/tokens/revoke", data={"csrf_token": csrf, "token_id": str(first_id)})
    assert app.test_client().get("/api/v1/whoami", headers=bearer(first)).status_code == 401
    assert app.test_client().get("/api/v1/whoami", headers=bearer(second)).status_code == 200
    client.post(f"/official/accounts/{carrier.id}/tokens/revoke", data={"csrf_token": csrf, "all": "1"})
    assert app.test_client().get("/api/v1/whoami", headers=bearer(second)).status_code == 401
    assert actions(db) == ["token.revoke", "token.revoke"]


def test_an_official_resets_a_staff_password_and_not_a_workers(app, client, db, vault, programme, login_as):
    from tests.builders import make_worker

    official = make_user(db, vault, Role.OFFICIAL)
    staff = make_user(db, vault, Role.CARRIER, carrier="china_unicom")
    worker = make_worker(db, vault, programme)
    db.commit()
    staff_browser = app.test_client()
    login_as(staff)
    with client.session_transaction() as cookie:
        staff_cookie = dict(cookie)
    with staff_browser.session_transaction() as cookie:
        cookie.update(staff_cookie)
    login_as(official)
    csrf = csrf_token_from(client.get(f"/official/accounts/{staff.id}").text)
    unconfirmed = client.post(f"/official/accounts/{staff.id}/reset", data={"csrf_token": csrf})
    assert unconfirmed.status_code == 302
    done = client.post(f"/official/accounts/{staff.id}/reset", data={"csrf_token": csrf, "confirm": "y"})
    temporary = re.search(r"<code>([^<]+)</code>", done.text).group(1)
    assert done.headers["Cache-Control"] == "no-store"
    assert staff_browser.get("/carrier/claims").status_code == 302  # the staff member's session ended

    def log_in(password):
        other = app.test_client()
        page = other.get("/login")
        return other.post("/login", data={"csrf_token": csrf_token_from(page.text),
                                          "phone": vault.decrypt(staff.phone_encrypted), "password": password})

    assert log_in(PASSWORD).status_code == 200
    assert log_in(temporary).status_code == 302
    refused = client.post(f"/official/accounts/{worker.user_id}/reset", data={"csrf_token": csrf, "confirm": "y"})
    assert refused.status_code == 302
    assert actions(db) == ["password.reset.official"]
