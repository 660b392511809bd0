"""The review room's pages: the queue, one application's review, the budget and its payment file."""

from __future__ import annotations

import sqlalchemy as sa

from tests.builders import make_user
from tests.residence.builders import make_site
from tests.review.builders import NOW, fraud_scenario, official_snapshot, p6_claim, p7_application
from tests.support.web import csrf_token_from
from wzcheckin.core.models import AuditEntry
from wzcheckin.core.roles import Role
from wzcheckin.residence.models import ApplicationStatus, SubsidyApplication
from wzcheckin.review.models import RiskSignal
from wzcheckin.review.signals import compute_signals


def test_an_official_acknowledges_each_signal_on_the_page_to_approve(db, vault, programme, client, login_as):
    site = fraud_scenario(db, vault)
    application = p7_application(db, official_snapshot(db, programme), site)
    compute_signals(db, programme, now=NOW)
    official = make_user(db, vault, Role.HR_OFFICIAL)
    db.commit()
    login_as(official)

    page = client.get("/official/review")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert site.enterprise.name in html and "同一扫码账号" in html

    url = f"/official/review/P7/{application.id}"
    page = client.get(url)
    assert page.status_code == 200
    token = csrf_token_from(page.get_data(as_text=True))
    signal_ids = list(db.scalars(sa.select(RiskSignal.id).where(RiskSignal.enterprise_id == site.enterprise.id)))
    refused = client.post(url, data={"csrf_token": token, "action": "approve", f"note-{signal_ids[0]}": "已核实"})
    assert refused.status_code == 422
    db.rollback()
    assert db.get(SubsidyApplication, application.id).status is ApplicationStatus.APPLIED

    notes = {f"note-{signal_id}": "已核实" for signal_id in signal_ids}
    done = client.post(url, data={"csrf_token": token, "action": "approve", **notes})
    assert done.status_code == 302
    db.rollback()
    assert db.get(SubsidyApplication, application.id).status is ApplicationStatus.APPROVED
    assert client.get("/official/review/P9/1").status_code == 404
    assert client.get(f"/official/review/P6/{application.id + 1000}").status_code == 404


def test_the_budget_page_and_the_audited_payment_file(db, vault, programme, client, login_as):
    official = make_user(db, vault, Role.HR_OFFICIAL)
    claim = p6_claim(db, make_site(db, vault, district="鹿城区"), amount_fen=250000)
    db.commit()
    login_as(official)
    page = client.get(f"/official/review/P6/{claim.id}")
    token = csrf_token_from(page.get_data(as_text=True))
    assert client.post(f"/official/review/P6/{claim.id}", data={"csrf_token": token, "action": "approve"}).status_code == 302

    page = client.get("/official/budget")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-chart="budget-policy"' in html and 'data-chart="budget-district"' in html
    assert "¥2,500" in html and "鹿城区" in html

    download = client.post("/official/budget/payments", data={"csrf_token": csrf_token_from(html)})
    assert download.status_code == 200 and download.mimetype == "text/csv"
    text = download.get_data(as_text=True)
    assert "policy,application_id,credit_code" in text and f"P6,{claim.id}," in text and ",2500," in text
    db.rollback()
    assert db.scalar(sa.select(AuditEntry).where(AuditEntry.action == "review.payment_file")).details["rows"] == 1


def test_other_roles_cannot_reach_the_review_pages(db, vault, client, login_as):
    login_as(make_user(db, vault, Role.ENTERPRISE_ADMIN))
    assert client.get("/official/review").status_code in (403, 404)
    assert client.get("/official/budget").status_code in (403, 404)


def test_the_auditor_reads_the_queue_and_the_budget_and_decides_nothing(db, vault, programme, client, login_as):
    application = p7_application(db, official_snapshot(db, programme), make_site(db, vault))
    auditor = make_user(db, vault, Role.AUDITOR)
    db.commit()
    login_as(auditor)
    page = client.get(f"/official/review/P7/{application.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "待主管该政策的部门审核" in html and 'value="approve"' not in html and 'value="reject"' not in html
    token = csrf_token_from(html)
    assert client.post(f"/official/review/P7/{application.id}",
                       data={"csrf_token": token, "action": "approve"}).status_code == 403
    budget = client.get("/official/budget").get_data(as_text=True)
    assert "review/payments" not in budget and "/official/budget/payments" not in budget
    assert client.post("/official/budget/payments", data={"csrf_token": token}).status_code == 403


def test_another_bureaus_application_is_not_found(db, vault, programme, client, login_as):
    application = p7_application(db, official_snapshot(db, programme), make_site(db, vault))
    db.commit()
    login_as(make_user(db, vault, Role.ECONOMY_OFFICIAL))
    assert client.get(f"/official/review/P7/{application.id}").status_code == 404
    assert f"/official/review/P7/{application.id}" not in client.get("/official/review").get_data(as_text=True)
