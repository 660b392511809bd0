"""Who may use the officials' desk: officials only (the programme office, the bureaus, the
auditor), on every page and every POST (with a valid CSRF token, so it is the role that refuses,
not the token); anonymous visitors are sent to log in. Pages are never cached; officials land on
the dashboard and find there the pages their role may open, and only those."""

import pytest

from tests.admin.builders import make_checkpoint
from tests.builders import PASSWORD, gate_of, make_enterprise, make_user, make_worker
from tests.support.web import csrf_token_from
from wzcheckin.core.roles import OFFICIAL_ROLES, Role
from wzcheckin.scanning.models import CheckpointKind

EXAMPLE_ARGS = {"name": "worker-statuses"}


def admin_rules(app):
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")]
    assert {rule.endpoint for rule in rules} >= {"admin.dashboard", "admin.exports", "admin.export",
                                                 "admin.export_full", "admin.audit_log", "admin.programme_file"}
    return rules


def url_of(rule) -> str:
    return rule.rule.replace("<name>", EXAMPLE_ARGS["name"])


def test_every_admin_view_is_for_officials_only(app):
    for rule in admin_rules(app):
        roles = app.view_functions[rule.endpoint].wz_roles
        assert roles and set(roles) <= set(OFFICIAL_ROLES), rule.endpoint
    # Exports (which can reveal full numbers) stay the programme office's alone.
    assert app.view_functions["admin.export_full"].wz_roles == (Role.OFFICIAL,)


@pytest.fixture
def people(db, vault, programme):
    enterprise = make_enterprise(db, vault)
    gate = gate_of(db, enterprise)
    return {
        Role.WORKER: make_worker(db, vault, programme).user,
        Role.GATEKEEPER: make_user(db, vault, Role.GATEKEEPER, checkpoint=gate),
        Role.ENTERPRISE_ADMIN: make_user(db, vault, Role.ENTERPRISE_ADMIN, checkpoint=gate),
        Role.VENUE_STAFF: make_user(db, vault, Role.VENUE_STAFF, checkpoint=make_checkpoint(db, CheckpointKind.VENUE)),
        Role.PICKUP_STAFF: make_user(db, vault, Role.PICKUP_STAFF,
                                     checkpoint=make_checkpoint(db, CheckpointKind.PICKUP)),
        Role.CARRIER: make_user(db, vault, Role.CARRIER, carrier="china_mobile"),
    }


def test_every_other_role_is_refused_everywhere(app, db, client, login_as, people):
    assert set(people) == set(Role) - set(OFFICIAL_ROLES)
    rules = admin_rules(app)
    for role, user in people.items():
        login_as(user)
        for rule in rules:
            if "GET" in rule.methods:
                assert client.get(url_of(rule)).status_code == 403, (role, rule.rule)
            if "POST" in rule.methods:
                # A real token (from the refusal page itself): the role is what refuses.
                token = csrf_token_from(client.get("/admin").text)
                response = client.post(url_of(rule), data={"csrf_token": token, "format": "csv",
                                                           "reason": "a long enough reason"})
                assert response.status_code == 403, (role, rule.rule)


def test_anonymous_visitors_are_sent_to_log_in(app, db, client):
    token = csrf_token_from(client.get("/login").text)
    for rule in admin_rules(app):
        if "GET" in rule.methods:
            response = client.get(url_of(rule))
            assert response.status_code == 302 and "/login" in response.headers["Location"], rule.rule
        if "POST" in rule.methods:
            response = client.post(url_of(rule), data={"csrf_token": token, "format": "csv"})
            assert response.status_code == 302 and "/login" in response.headers["Location"], rule.rule


def test_officials_land_on_the_dashboard_and_nothing_is_cached(app, db, vault, client):
    official = make_user(db, vault, Role.OFFICIAL)
    db.commit()
    token = csrf_token_from(client.get("/login").text)
    response = client.post("/login", data={"csrf_token": token, "phone": vault.decrypt(official.phone_encrypted),
                                           "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/admin"
    for rule in admin_rules(app):
        if "GET" in rule.methods and Role.OFFICIAL in app.view_functions[rule.endpoint].wz_roles:
            page = client.get(url_of(rule))
            assert page.status_code == 200, rule.rule
            assert page.headers["Cache-Control"] == "no-store", rule.rule
    dashboard = client.get("/admin").text
    # The desk's own pages in the navigation, and the other rooms' official pages linked.
    for href in ("/admin/exports", "/admin/audit", "/admin/programme", "/official/residence",
                 "/official/residence/sms", "/admin/benefits/data-bonus", "/manage/venues"):
        assert f'href="{href}"' in dashboard, href
    # The bureaus' pages are theirs: the programme office is not sent to them.
    for href in ("/official/residence/applications", "/health/alerts", "/admin/benefits/points"):
        assert f'href="{href}"' not in dashboard, href
    assert 'aria-current="page">数据看板</a>' in dashboard


BUREAU_LINKS = {
    Role.HR_OFFICIAL: ("/official/residence/applications", "/admin/benefits/training", "/admin/benefits/complaints",
                       "/official/budget"),
    Role.ECONOMY_OFFICIAL: ("/official/residence/production", "/admin/hotline", "/official/budget"),
    Role.HEALTH_OFFICIAL: ("/health/alerts",),
    Role.POLICE_OFFICIAL: ("/admin/benefits/points",),
    Role.AUDITOR: ("/admin/audit", "/official/budget", "/admin/hotline"),
}


@pytest.mark.parametrize("role", list(BUREAU_LINKS))
def test_each_bureau_lands_on_the_dashboard_with_its_own_pages_only(app, db, vault, client, login_as, role):
    user = make_user(db, vault, role)
    db.commit()
    token = csrf_token_from(client.get("/login").text)
    response = client.post("/login", data={"csrf_token": token, "phone": vault.decrypt(user.phone_encrypted),
                                           "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/admin"
    dashboard = client.get("/admin").text
    everyones = {href for hrefs in BUREAU_LINKS.values() for href in hrefs}
    for href in BUREAU_LINKS[role]:
        assert f'href="{href}"' in dashboard, href
        assert client.get(href).status_code == 200, href
    for href in everyones - set(BUREAU_LINKS[role]):  # every page here is some other bureau's
        assert client.get(href).status_code == 403, href
        assert f'href="{href}"' not in dashboard, href
    for href in ("/admin/exports", "/manage/venues", "/official/accounts"):
        assert client.get(href).status_code == 403, href
