"""In real headless Chromium, served by gunicorn: an official opens the dashboard on a 360-px phone
and on a laptop; every chart is an SVG with its title, nothing is wider than the screen (in
Chinese and English), the tables open under the charts, and on a laptop the charts sit side by
side."""

from pathlib import Path

import pytest

from tests.admin.builders import make_claim, make_point
from tests.builders import make_user, make_worker
from tests.residence.builders import bulk_workers, make_site
from tests.support.browser import log_in
from tests.support.clock import at
from tests.support.config import ARTIFACTS
from wzcheckin.admin.figures import FIGURES_CSV_HEADER
from wzcheckin.benefits.models import ClaimStatus
from wzcheckin.core import context
from wzcheckin.core.roles import Role
from wzcheckin.extensions import db
from wzcheckin.residence.cutoff import run_snapshot

pytestmark = [pytest.mark.browser, pytest.mark.server]

CHARTS = ["chart-registrations", "chart-scans", "chart-districts", "chart-tiers", "chart-welfare", "chart-data-bonus"]


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def charts_on(page) -> list[str]:
    return page.eval_on_selector_all("svg.chart-svg[role=img]", "nodes => nodes.map(n => n.dataset.chart)")


def official_logged_in_after_the_cutoff(session, vault, programme, gunicorn_server, page):
    """The data seeded so far, the official snapshot taken at the cutoff, a server, and an official
    logged in on ``page``: what both tests look at. Returns the server and the official's phone."""
    official = make_user(session, vault, Role.OFFICIAL)
    phone = vault.decrypt(official.phone_encrypted)
    session.commit()
    run_snapshot(session, programme, as_of=programme.cutoff, now=at("2021-03-01 00:05"))
    server = gunicorn_server()
    ARTIFACTS.mkdir(exist_ok=True)
    log_in(page, server, phone)
    return server, phone


def test_the_dashboard_on_a_phone_and_a_laptop(fresh_database, gunicorn_server, server_app, phone_page, browser):
    vault, programme = context.vault(), context.programme()
    for district, count in (("瓯海区", 100), ("鹿城区", 60), ("乐清市", 12)):
        bulk_workers(db.session, vault, make_site(db.session, vault, district=district,
                                                  name=f"温州{district}测试企业有限公司"), count)
    bulk_workers(db.session, vault, make_site(db.session, vault, district="龙湾区"), 30, windows=(0, 1))
    make_point(db.session, name="五马街道社区卫生服务中心（鹿城区五马街88号）", handed_out=140, stock=60)
    make_point(db.session, name="娄桥街道新居民服务站", district="瓯海区", handed_out=35, stock=165)
    for status in (ClaimStatus.FULFILLED, ClaimStatus.PENDING, ClaimStatus.FAILED):
        make_claim(db.session, vault, make_worker(db.session, vault, programme), status=status)
    server, phone = official_logged_in_after_the_cutoff(db.session, vault, programme, gunicorn_server, phone_page)
    page = phone_page
    assert page.url.endswith("/admin")
    assert charts_on(page) == CHARTS
    assert page.locator("svg.chart-svg title").first.text_content() == "每日登记"
    assert page_width(page) <= 360
    # Chart text keeps its size on a phone: the labels are not scaled down with the drawing.
    size = page.eval_on_selector("svg[data-chart=chart-districts] text.bar-label",
                                 "n => n.getBoundingClientRect().height")
    assert size >= 12
    page.locator("#districts summary").click()
    assert page.locator("#districts table").is_visible()
    assert page_width(page) <= 360
    page.screenshot(path=str(ARTIFACTS / "admin-dashboard-360.png"), full_page=True)
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert charts_on(page) == CHARTS and page_width(page) <= 360
    assert page.locator("svg.chart-svg title").first.text_content() == "Registrations per day"
    page.screenshot(path=str(ARTIFACTS / "admin-dashboard-360-en.png"), full_page=True)

    laptop = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    try:
        wide = laptop.new_page()
        log_in(wide, server, phone)
        assert charts_on(wide) == CHARTS and page_width(wide) <= 1366
        first, second = (wide.locator(f"#{name}").bounding_box() for name in ("registrations", "scans"))
        assert abs(first["y"] - second["y"]) < 1 and second["x"] > first["x"] + first["width"]
        assert first["width"] > 400  # the chart uses the room a laptop gives it
        wide.screenshot(path=str(ARTIFACTS / "admin-dashboard-1366.png"), full_page=True)
    finally:
        laptop.close()


FIGURE_CHARTS = ["chart-staying", "chart-retention-districts", "chart-retention-enterprises", "chart-health-days",
                 "chart-health-districts", "chart-complaints"]


def test_the_figures_on_a_phone(fresh_database, gunicorn_server, server_app, phone_page):
    """The figures page on a 360-px phone, in Chinese then English: six charts, every table opens
    within the screen (wide tables scroll inside their own region)."""
    from wzcheckin.benefits.rights import ComplaintInput, file_complaint
    from wzcheckin.enterprises.models import HealthAlert

    vault, programme = context.vault(), context.programme()
    sites = [make_site(db.session, vault, district=district, name=f"温州{district}测试企业有限公司")
             for district in ("瓯海区", "鹿城区", "乐清市")]
    for site, count in zip(sites, (40, 25, 8), strict=True):
        bulk_workers(db.session, vault, site, count)
    for day in range(11, 18):
        db.session.add(HealthAlert(enterprise_id=sites[day % 3].enterprise.id, checkpoint_id=sites[day % 3].gate.id,
                                   reason="fever" if day % 2 else "symptoms", person_masked="张*",
                                   raised_by_user_id=sites[0].staff.id, raised_at=at(f"2021-02-{day} 09:00")))
    worker = make_worker(db.session, vault, programme, enterprise=sites[0].enterprise)
    for amount in ("3000.50", "12000"):
        file_complaint(db.session, worker, ComplaintInput(credit_code=sites[0].enterprise.credit_code, months="2",
                                                          amount_yuan=amount, description="欠发工资"),
                       at("2021-02-08 09:00"))
    server, _phone = official_logged_in_after_the_cutoff(db.session, vault, programme, gunicorn_server, phone_page)
    page = phone_page
    page.goto(server.base_url + "/admin/figures")
    assert charts_on(page) == FIGURE_CHARTS
    assert page.locator("h1").text_content() == "统计数据"
    assert page_width(page) <= 360
    for summary in page.locator("details.chart-table summary").all():
        summary.click()
    assert page.locator("#complaints table").is_visible()
    assert page_width(page) <= 360
    page.screenshot(path=str(ARTIFACTS / "admin-figures-360.png"), full_page=True)
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert charts_on(page) == FIGURE_CHARTS and page_width(page) <= 360
    assert page.locator("h1").text_content() == "Figures"
    page.screenshot(path=str(ARTIFACTS / "admin-figures-360-en.png"), full_page=True)
    # The page's download button: the figures shown, as one long CSV.
    with page.expect_download() as downloaded:
        page.locator("#figures-download button[value=csv]").click()
    lines = Path(downloaded.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == ",".join(FIGURES_CSV_HEADER)
    assert {line.split(",")[0] for line in lines[1:]} == {"staying_per_day", "retention_by_district",
                                                          "retention_by_enterprise", "health_alerts",
                                                          "wage_complaints"}
