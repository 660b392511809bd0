"""In real headless Chromium on a 360×740 phone: an official reads the cutoff snapshot and an
enterprise admin applies for the subsidy, in Chinese and English, with nothing wider than the
screen."""

import pytest
import sqlalchemy as sa

from tests.builders import make_user
from tests.residence.builders import bulk_workers, make_site
from tests.support.browser import log_in
from tests.support.clock import at
from tests.support.config import ARTIFACTS
from wzcheckin.core import context
from wzcheckin.core.roles import Role
from wzcheckin.extensions import db
from wzcheckin.residence.cutoff import run_snapshot
from wzcheckin.residence.models import SubsidyApplication

pytestmark = [pytest.mark.browser, pytest.mark.server]


def fits(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"residence-{name}-360.png"), full_page=True)
    return page.evaluate("document.documentElement.scrollWidth") <= 360


def test_snapshot_and_application_pages_on_a_phone(server_database, gunicorn_server, server_app, phone_page):
    vault, programme = context.vault(), context.programme()
    site = make_site(db.session, vault, name="温州瓯江鞋业有限公司", district="瓯海区")
    bulk_workers(db.session, vault, site, 100)
    bulk_workers(db.session, vault, site, 7, windows=(0, 2))
    admin = make_user(db.session, vault, Role.ENTERPRISE_ADMIN, checkpoint=site.gate)
    official = make_user(db.session, vault, Role.OFFICIAL)
    admin_phone, official_phone = vault.decrypt(admin.phone_encrypted), vault.decrypt(official.phone_encrypted)
    db.session.commit()
    run_snapshot(db.session, programme, as_of=programme.cutoff, now=at("2021-03-01 00:05"))
    server = gunicorn_server()
    page = phone_page

    log_in(page, server, official_phone)
    page.goto(server.base_url + "/official/residence")
    assert page.get_by_role("heading", name="截止核定").is_visible()
    assert page.get_by_text("¥100,000").first.is_visible()
    assert fits(page, "official-snapshot")
    page.get_by_role("link", name="全部员工").click()
    page.get_by_label("状态").select_option("missing_evidence")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**reason=missing_evidence**")  # the filtered page, not the one before it
    assert page.locator(".roster-row").count() == 7
    assert fits(page, "official-workers")
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page.locator(".roster-row .badge").first.inner_text() == "No staff scan in a required period"
    assert fits(page, "official-workers-en")
    page.get_by_role("link", name="中文").click()
    page.get_by_role("button", name="退出").click()

    log_in(page, server, admin_phone)
    page.goto(server.base_url + "/enterprise/retention")
    page.get_by_role("button", name="申报¥100,000留温补助").click()
    page.get_by_text("已申报，待审核").wait_for()  # the page after the post, not the one before it
    assert page.get_by_text("已申报，待审核").is_visible()
    assert fits(page, "enterprise-applied")
    db.session.rollback()
    assert db.session.scalar(sa.select(SubsidyApplication.amount_yuan)) == 100000
