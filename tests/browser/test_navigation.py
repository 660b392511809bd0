"""In real headless Chromium on a 360×740 phone: the officials' many sections sit in a grouped
menu (one disclosure per group, no script) that fits the screen; a worker's few links sit on a
simple bar. Every tap target in the header is at least 44 px high, the language switch and
log-out share one line, and a skip link leads past the menus."""

import pytest

from tests.builders import make_phone, make_user, make_worker
from tests.support.browser import log_in
from tests.support.config import ARTIFACTS
from wzcheckin.core import context
from wzcheckin.core.roles import Role
from wzcheckin.extensions import db

pytestmark = [pytest.mark.browser, pytest.mark.server]

TAP_TARGETS = ".topbar a, .topbar button, .subnav .navlink, .subnav summary"


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def short_targets(page) -> list[str]:
    """The visible tap targets of the header and menu bar lower than 44 px."""
    return page.eval_on_selector_all(TAP_TARGETS, """nodes => nodes
        .filter(n => n.getClientRects().length)
        .filter(n => n.getBoundingClientRect().height < 44)
        .map(n => n.textContent.trim() + ' ' + n.getBoundingClientRect().height)""")


def assert_header_fits(page) -> None:
    assert page_width(page) <= 360
    assert short_targets(page) == []
    lang, logout = page.locator(".topbar .lang"), page.get_by_role("button", name="退出")
    first, second = lang.bounding_box(), logout.bounding_box()
    assert abs(first["y"] - second["y"]) < 2 and second["x"] + second["width"] <= 360
    assert page.locator(".topbar").inner_text().count("留温过年") == 1


def test_an_official_finds_every_section_in_a_grouped_menu(gunicorn_server, server_app, phone_page):
    vault = context.vault()
    official = make_user(db.session, vault, Role.OFFICIAL)
    phone = vault.decrypt(official.phone_encrypted)
    db.session.commit()
    server = gunicorn_server()
    page = phone_page
    log_in(page, server, phone)
    assert page.url.endswith("/admin")
    assert_header_fits(page)

    groups = page.locator(".subnav details.navgroup")
    names = [groups.nth(i).locator("summary").evaluate("n => n.firstChild.textContent.trim()")
             for i in range(groups.count())]
    assert names == ["总览", "留温核定", "审核与资金", "各项福利", "系统"]
    # The dashboard's group is marked, the dashboard's link current, and nothing is open yet.
    assert page.locator(".subnav details.current summary").inner_text().startswith("总览")
    assert page.locator('.subnav a[aria-current="page"]').get_attribute("href") == "/admin"
    assert page.locator(".subnav details[open]").count() == 0

    hrefs = []
    for i, name in enumerate(names):
        group = groups.nth(i)
        group.locator("summary").click()
        assert group.get_attribute("open") is not None
        assert page.locator(".subnav details[open]").count() == 1  # one menu open at a time
        links = group.locator(".navpanel a")
        assert links.count() >= 2, name
        for j in range(links.count()):
            box = links.nth(j).bounding_box()
            assert links.nth(j).is_visible() and box["height"] >= 44
            assert box["x"] >= 0 and box["x"] + box["width"] <= 360
            hrefs.append(links.nth(j).get_attribute("href"))
        assert page_width(page) <= 360
        if i == 1:
            page.screenshot(path=str(ARTIFACTS / "official-menu-360.png"))
        group.locator("summary").click()
    assert len(hrefs) == len(set(hrefs)) >= 15

    # Another group's page: its group is marked and its link current.
    groups.nth(2).locator("summary").click()
    groups.nth(2).get_by_role("link", name="资金预算").click()
    page.wait_for_url("**/budget")
    assert page.locator(".subnav details.current summary").inner_text().startswith("审核与资金")
    assert page.locator(".subnav a[aria-current=\"page\"]").text_content() == "资金预算"
    assert_header_fits(page)

    # The keyboard's first stop is the skip link, shown when focused.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="跳到正文")
    assert skip.evaluate("n => n === document.activeElement") and skip.bounding_box()["y"] >= 0

    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page_width(page) <= 360 and short_targets(page) == []
    page.screenshot(path=str(ARTIFACTS / "official-menu-360-en.png"))


def test_a_worker_has_a_simple_bar_that_fits(gunicorn_server, server_app, phone_page):
    phone = make_phone("139")
    make_worker(db.session, context.vault(), context.programme(), phone=phone, name="张伟")
    db.session.commit()
    server = gunicorn_server()
    page = phone_page
    log_in(page, server, phone)
    page.wait_for_url("**/me")
    assert_header_fits(page)
    bar = page.locator(".subnav")
    assert bar.get_by_role("link", name="首页").get_attribute("aria-current") == "page"
    assert bar.bounding_box()["height"] <= 2 * 48 + 10  # at most two rows
    for link in ("通行码", "场馆预约"):
        assert bar.get_by_role("link", name=link).is_visible()
    bar.locator("summary").click()
    assert bar.get_by_role("link", name="技能培训").is_visible()
    assert page_width(page) <= 360
    page.screenshot(path=str(ARTIFACTS / "worker-menu-360.png"))
