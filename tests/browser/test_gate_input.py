"""Gate input at the factory gate, in real headless Chromium on a 360×740 phone (issue 16 item 8):
"已戴口罩" is not ticked when the page opens nor after a scan; a temperature that is no body
temperature (a slip: 3.65, 65) is questioned on the phone and nothing is sent; an unusual one, or
the mask box left unticked, is sent only on a second OK."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.builders import gate_of, make_enterprise, make_phone, make_user, make_worker
from tests.scanning.test_scanner_browser import PHONE, log_in
from wzcheckin import clock
from wzcheckin.codes.passes import current_pass
from wzcheckin.core.roles import Role
from wzcheckin.scanning.models import Scan

pytestmark = [pytest.mark.browser, pytest.mark.server]


def scans(session) -> list[Scan]:
    session.rollback()
    return list(session.scalars(sa.select(Scan).order_by(Scan.id)))


def press_ok(page) -> None:
    page.get_by_role("button", name="确定", exact=True).click()


def test_a_gatekeeper_is_questioned_before_an_implausible_reading_is_sent(gunicorn_server, seeded, browser):
    session = seeded.session
    enterprise = make_enterprise(session, seeded.vault, name="温州瓯江鞋业有限公司")
    phone = make_phone("137")
    make_user(session, seeded.vault, Role.GATEKEEPER, checkpoint=gate_of(session, enterprise), phone=phone)
    worker = make_worker(session, seeded.vault, seeded.programme, enterprise=enterprise, name="刘海燕")
    token = current_pass(worker, seeded.keyring, seeded.programme, clock.now()).token
    session.commit()
    server = gunicorn_server()

    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        log_in(page, server.base_url, phone)
        page.locator("body[data-scanner-ready='1']").wait_for(timeout=60_000)
        mask, temperature, status = page.locator("#mask"), page.locator("#temperature"), page.locator("#camera-status")
        assert not mask.is_checked()

        # Slips of the finger: no body temperature. Questioned, nothing sent, however often OK is pressed.
        mask.check()
        for slip in ("3.65", "65"):
            temperature.fill(slip)
            page.locator("#code-input").fill(token)
            press_ok(page)
            assert status.inner_text().startswith(f"{slip} °C 不是体温")
            assert temperature.get_attribute("aria-invalid") == "true"
            press_ok(page)
            assert status.inner_text().startswith(f"{slip} °C 不是体温")
        assert scans(session) == []

        # An unusual reading: asked once, sent on the second OK.
        temperature.fill("34.8")
        press_ok(page)
        assert "34.8 °C 偏低或偏高" in status.inner_text()
        assert scans(session) == []
        press_ok(page)
        page.locator("#answer[data-state=ok]").wait_for(state="visible", timeout=15_000)
        page.locator("#answer").click()
        assert not mask.is_checked() and temperature.input_value() == ""  # ready for the next person

        # The mask box left unticked: asked, then a second OK refuses entry for no mask.
        temperature.fill("36.5")
        page.locator("#code-input").fill(token)
        press_ok(page)
        assert "未勾选“已戴口罩”" in status.inner_text()
        assert len(scans(session)) == 1
        press_ok(page)
        page.locator("#answer[data-state=bad]").wait_for(state="visible", timeout=15_000)
        recorded = scans(session)
        assert [(scan.mask, str(scan.temperature)) for scan in recorded] == [(True, "34.80"), (False, "36.50")]
    finally:
        context.close()
