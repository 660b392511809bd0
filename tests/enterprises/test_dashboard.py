"""The enterprise admin's page: today at the gate, health alerts, the roster with evidence
windows, confirm / remove; object-level checks; the officials' health view; the audit log."""

from decimal import Decimal

import sqlalchemy as sa

from tests.builders import gate_of, make_enterprise, make_user, make_worker
from tests.scanning.builders import gate_setup, pass_token
from tests.support.web import csrf_token_from
from wzcheckin import clock
from wzcheckin.accounts.models import Worker
from wzcheckin.core.models import AuditEntry
from wzcheckin.core.roles import Role
from wzcheckin.enterprises.models import HealthAlert
from wzcheckin.scanning.services import ScanInput, record_scan


def admin_of(db, vault, enterprise):
    return make_user(db, vault, Role.ENTERPRISE_ADMIN, checkpoint=gate_of(db, enterprise))


def scan(db, keyring, programme, gatekeeper, worker, **checks):
    now = clock.now()
    data = ScanInput(token=pass_token(worker, keyring, programme, now), mask=checks.get("mask", True),
                     temperature=checks.get("temperature", Decimal("36.5")), symptoms=checks.get("symptoms", False))
    return record_scan(db, staff=gatekeeper, checkpoint=gatekeeper.checkpoint, data=data, keyring=keyring,
                       programme=programme, now=now).scan


def audit_actions(db) -> list[str]:
    db.rollback()
    return list(db.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


def test_the_admin_sees_today_alerts_and_the_roster_with_evidence_windows(client, db, vault, programme, keyring,
                                                                          login_as):
    enterprise, _gate, gatekeeper, worker = gate_setup(db, vault, programme, name="张伟")
    pending = make_worker(db, vault, programme, enterprise=enterprise, name="李秀英")
    pending.employment_confirmed = False
    scan(db, keyring, programme, gatekeeper, worker)
    scan(db, keyring, programme, gatekeeper, worker, temperature=Decimal("38.2"))
    scan(db, keyring, programme, gatekeeper, worker, mask=False)
    db.commit()
    login_as(admin_of(db, vault, enterprise))
    response = client.get("/enterprise")
    assert response.status_code == 200
    html = response.text
    assert enterprise.name in html
    today = html[html.index('id="today"'):html.index('id="alerts"')]
    assert '<span class="stat-number">1</span><span class="stat-label">次入厂' in today
    assert '<span class="stat-number">2</span><span class="stat-label">次拒绝' in today
    assert "发热" in today and "未戴口罩" in today
    alerts = html[html.index('id="alerts"'):html.index('id="roster"')]
    assert "张*" in alerts and "38.2" in alerts and "标记为已处理" in alerts
    roster = html[html.index('id="roster"'):]
    assert "张*" in roster and "李*英" in roster and "待确认" in roster and "1 人待您确认" in roster
    assert "节前" in roster and "春节假期" in roster
    assert worker.id_number_tail in roster and worker.name not in html  # masked only


def test_confirm_and_remove_employees_with_an_audit_entry_each(client, db, vault, programme, login_as):
    enterprise = make_enterprise(db, vault)
    newcomer = make_worker(db, vault, programme, enterprise=enterprise)
    newcomer.employment_confirmed = False
    leaver = make_worker(db, vault, programme, enterprise=enterprise)
    db.commit()
    login_as(admin_of(db, vault, enterprise))
    page = client.get("/enterprise").text
    token = csrf_token_from(page)
    # Removing asks first: the form and its button sit inside an "are you sure" step.
    step = page[page.index(f'action="/enterprise/roster/{leaver.id}/remove"'):]
    assert step.index("确定移出") < step.index("</details>")
    assert client.post(f"/enterprise/roster/{newcomer.id}/confirm", data={"csrf_token": token}).status_code == 302
    assert client.post(f"/enterprise/roster/{leaver.id}/remove", data={"csrf_token": token}).status_code == 302
    db.rollback()
    newcomer, leaver = db.get(Worker, newcomer.id), db.get(Worker, leaver.id)
    assert newcomer.employment_confirmed and newcomer.employment_confirmed_at is not None
    assert (leaver.enterprise_id, leaver.employment_confirmed) == (None, False)
    assert audit_actions(db)[-2:] == ["roster.confirm", "roster.remove"]
    # Without the CSRF token nothing happens.
    assert client.post(f"/enterprise/roster/{newcomer.id}/remove").status_code == 400
    assert db.get(Worker, newcomer.id).enterprise_id == enterprise.id


def test_an_admin_cannot_touch_another_enterprises_workers_or_alerts(client, db, vault, programme, keyring, login_as):
    mine = make_enterprise(db, vault)
    theirs, _gate, their_gatekeeper, their_worker = gate_setup(db, vault, programme)
    scan(db, keyring, programme, their_gatekeeper, their_worker, symptoms=True)
    db.commit()
    alert = db.scalar(sa.select(HealthAlert))
    login_as(admin_of(db, vault, mine))
    html = client.get("/enterprise").text
    assert theirs.name not in html and "没有健康预警" in html
    token = csrf_token_from(html)
    for url in (f"/enterprise/roster/{their_worker.id}/confirm", f"/enterprise/roster/{their_worker.id}/remove",
                f"/enterprise/alerts/{alert.id}/acknowledge"):
        assert client.post(url, data={"csrf_token": token}).status_code == 404, url
    db.rollback()
    assert db.get(Worker, their_worker.id).enterprise_id == theirs.id
    assert db.scalar(sa.select(HealthAlert.acknowledged_at)) is None


def test_the_admin_acknowledges_an_alert(client, db, vault, programme, keyring, login_as):
    enterprise, _gate, gatekeeper, worker = gate_setup(db, vault, programme)
    scan(db, keyring, programme, gatekeeper, worker, temperature=Decimal("37.8"))
    db.commit()
    alert = db.scalar(sa.select(HealthAlert))
    login_as(admin_of(db, vault, enterprise))
    token = csrf_token_from(client.get("/enterprise").text)
    assert client.post(f"/enterprise/alerts/{alert.id}/acknowledge", data={"csrf_token": token}).status_code == 302
    db.rollback()
    assert db.scalar(sa.select(HealthAlert.acknowledged_at)) is not None
    assert audit_actions(db)[-1] == "health_alert.acknowledge"


def test_who_may_open_which_page(client, db, vault, programme, login_as):
    _enterprise, _gate, gatekeeper, worker = gate_setup(db, vault, programme)
    login_as(gatekeeper)
    assert client.get("/enterprise").status_code == 403
    assert client.get("/gate/visitors").status_code == 200
    assert client.get("/health/alerts").status_code == 403
    login_as(worker.user)
    assert client.get("/gate/visitors").status_code == 403
    login_as(make_user(db, vault, Role.OFFICIAL))  # the programme office: health alerts are 卫健委's
    assert client.get("/health/alerts").status_code == 403
    official = make_user(db, vault, Role.HEALTH_OFFICIAL)
    login_as(official)
    assert client.get("/health/alerts").status_code == 200
    assert client.get("/enterprise").status_code == 403


def test_officials_see_every_alert_by_district(client, db, vault, programme, keyring, login_as):
    for district in ("瓯海区", "乐清市"):
        enterprise = make_enterprise(db, vault, district=district, name=f"{district}测试厂")
        gatekeeper = make_user(db, vault, Role.GATEKEEPER, checkpoint=gate_of(db, enterprise))
        scan(db, keyring, programme, gatekeeper, make_worker(db, vault, programme, enterprise=enterprise),
             temperature=Decimal("38.5"))
    db.commit()
    login_as(make_user(db, vault, Role.HEALTH_OFFICIAL))
    everything = client.get("/health/alerts").text
    assert "瓯海区测试厂" in everything and "乐清市测试厂" in everything and "38.5" in everything
    only = client.get("/health/alerts?district=乐清市").text
    assert "乐清市测试厂" in only and "瓯海区测试厂" not in only
    assert client.get("/health/alerts?district=nowhere").status_code == 200
