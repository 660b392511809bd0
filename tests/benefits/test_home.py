"""The worker's home page and ``GET /api/v1/me``: at a glance the pass, bookings, welfare pack,
data bonus, points, evidence windows (and where to get a scan), confirmation after the cutoff,
and the 24 h hotline — in Chinese and English, and on a 360-px phone in real Chromium."""

import re

import pytest

from tests.builders import make_id_number, make_phone, make_worker
from tests.support.browser import log_in
from tests.support.clock import at
from tests.support.config import ARTIFACTS
from tests.support.web import csrf_token_from
from wzcheckin.benefits.data_bonus import claim_data_bonus
from wzcheckin.benefits.points import award_points


def test_me_api_has_the_benefits_keys(client, db, vault, programme, login_as):
    worker = make_worker(db, vault, programme, phone=make_phone("189"))
    award_points(db, worker_id=worker.id, amount=5, reason="residence_permit_stay", source="cutoff", award_key="p2:me",
                 now=at("2021-03-01 00:00"))
    claim_data_bonus(db, vault, programme, worker, at("2021-02-02 10:00"))
    local = make_worker(db, vault, programme, id_number=make_id_number("330302"))
    db.commit()
    login_as(worker.user)
    body = client.get("/api/v1/me").get_json()
    assert body["points"] == 5
    assert body["data_bonus"]["status"] == "pending" and body["data_bonus"]["carrier"] == "china_telecom"
    assert {"welfare_pack", "evidence_windows", "confirmed"} <= set(body)
    login_as(local.user)
    assert client.get("/api/v1/me").get_json()["data_bonus"] == {"status": "not_eligible"}


def test_home_page_at_a_glance_in_both_languages(client, db, vault, programme, login_as, set_clock):
    worker = make_worker(db, vault, programme)
    db.commit()
    login_as(worker.user)
    page = client.get("/me").text
    for text in ("一览", "出示通行码", "免费流量：10G", "立即领取 10G 流量", "新居民积分", "留温证明",
                 "24小时咨询热线", "tel:057788996871", "技能培训", "送温暖活动", "被欠薪？"):
        assert text in page, text
    assert re.search(r"css/benefits(\.[0-9a-f]{12})?\.css", page)  # the plain or the content-hashed name
    client.get("/lang/en")
    english = client.get("/me").text
    for text in ("At a glance", "Show my pass", "Free mobile data: 10 GB", "Claim 10 GB now", "New-resident points",
                 "24-hour hotline", "Skills training"):
        assert text in english, text
    # Claim from the home page's button: the card then shows the status.
    token = csrf_token_from(english)
    assert client.post("/me/data-bonus", data={"csrf_token": token}).status_code == 302
    assert "With your carrier" in client.get("/me").text


def test_unpledged_worker_sees_why_and_no_claim_button(client, db, vault, programme, login_as):
    worker = make_worker(db, vault, programme, pledged=False)
    db.commit()
    login_as(worker.user)
    page = client.get("/me").text
    assert "不符合条件" in page and "立即领取" not in page and "您还未作出留温承诺" in page


@pytest.mark.browser
@pytest.mark.server
def test_home_page_on_a_360px_phone_in_chinese(gunicorn_server, server_app, phone_page, claim_window_env):
    from wzcheckin import clock
    from wzcheckin.core import context
    from wzcheckin.extensions import db

    db.create_all()  # tables of rooms newer than the migration (a no-op once it is regenerated)
    phone = make_phone("139")
    worker = make_worker(db.session, context.vault(), context.programme(), phone=phone, name="张伟")
    award_points(db.session, worker_id=worker.id, amount=5, reason="residence_permit_stay", source="cutoff",
                 award_key=f"p2:{worker.id}", now=clock.now())
    db.session.commit()
    server = gunicorn_server(workers=1, env=claim_window_env)
    page = phone_page
    log_in(page, server, phone)
    page.wait_for_url("**/me")

    assert page.get_by_role("heading", name="您好，张*").is_visible() or page.get_by_text("张*").first.is_visible()
    assert page.get_by_role("link", name="出示通行码").is_visible()
    glance = page.locator("#glance")
    assert glance.get_by_text("留温证明").is_visible() and glance.get_by_text("积分").first.is_visible()
    assert page.locator("#points .big-number").inner_text() == "5"
    assert page.get_by_role("heading", name="免费流量：10G").is_visible()
    assert page.get_by_role("link", name="0577-88996871").first.is_visible() or \
        page.locator("#hotline a").inner_text() == "0577-88996871"
    assert page.locator("#evidence").is_visible()
    # Nothing is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "home-360.png"), full_page=True)

    page.get_by_role("button", name="立即领取 10G 流量").click()
    page.wait_for_url("**/me/data-bonus")
    assert page.get_by_text("运营商处理中").first.is_visible()
    assert page.get_by_text("中国移动").first.is_visible()
    page.goto(server.base_url + "/me")
    assert page.locator("#glance").get_by_text("运营商处理中").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
