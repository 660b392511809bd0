"""离线通行码 in real headless Chromium against a real gunicorn server (issue 16.3):

* a worker's pass page, reloaded without signal, still shows the pass — a valid one, with a
  running clock — and as time goes on offline it rotates to a pass signed ahead;
* a gatekeeper's scanner, offline too, verifies that rotated pass on the device, and the server
  accepts it once the scan is uploaded;
* a log-out deletes what the phone kept: offline, the pass page is gone.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tests.builders import PASSWORD, gate_of, make_enterprise, make_phone, make_user, make_worker
from tests.scanning.fixtures import seeded  # noqa: F401 - a fixture
from tests.support.config import ARTIFACTS
from tests.support.qr import decode_qr
from wzcheckin.codes import tokens
from wzcheckin.core.roles import Role
from wzcheckin.scanning.models import Scan

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "zh-CN"}
KEPT = "async () => { const c = await caches.open('wzc-pass-data'); return !!(await c.match('/me/pass/batch')); }"


def log_in(page, base_url: str, phone: str) -> None:
    page.goto(base_url + "/login")
    page.locator("input[name=phone]").fill(phone)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()


def eventually(page, script: str, arg=None, timeout: float = 30) -> None:
    """Poll ``page.evaluate`` (the page's CSP forbids the eval that ``wait_for_function`` needs
    for an async predicate)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(script, arg):
        assert time.monotonic() < deadline, script
        time.sleep(0.2)


def shown_token(page) -> str:
    decoded = decode_qr(page.locator("#pass-code").screenshot())
    assert decoded == page.locator("#pass-token").text_content()  # the drawn QR is the pass the page holds
    return decoded


def test_the_pass_works_offline_rotates_and_a_scanner_verifies_it_offline(gunicorn_server, seeded, browser):  # noqa: F811
    session = seeded.session
    enterprise = make_enterprise(session, seeded.vault, name="温州瓯江鞋业有限公司")
    worker_phone, gate_phone = make_phone("139"), make_phone("137")
    worker = make_worker(session, seeded.vault, seeded.programme, enterprise=enterprise, name="刘海燕",
                         phone=worker_phone)
    make_user(session, seeded.vault, Role.GATEKEEPER, checkpoint=gate_of(session, enterprise), phone=gate_phone)
    session.commit()
    server = gunicorn_server(workers=2)

    phone = browser.new_context(**PHONE)
    scanner = browser.new_context(**PHONE)
    try:
        # The phone's clock is under the test's control (the server's is real): it runs from now.
        phone.clock.install(time=datetime.now(UTC))
        page = phone.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        log_in(page, server.base_url, worker_phone)
        page.goto(server.base_url + "/me/pass")
        page.clock.resume()
        eventually(page, "() => navigator.serviceWorker.controller !== null")
        eventually(page, KEPT)
        online_token = shown_token(page)

        phone.set_offline(True)
        page.reload()  # offline: the service worker answers with the kept page
        page.locator("#pass").wait_for(timeout=15_000)
        assert page.get_by_role("heading", name="刘*燕").is_visible()
        page.locator("#pass-status", has_text="离线").wait_for(timeout=10_000)
        first = shown_token(page)
        claims = tokens.parse(first)[0]
        assert claims.kind is tokens.TokenKind.PASS and claims.subject == worker.public_id
        assert claims.issued_at <= datetime.now(UTC) < claims.expires_at
        assert first == online_token or tokens.parse(online_token)[0].issued_at < claims.issued_at
        ticking = page.locator("#pass-clock").inner_text()
        page.clock.run_for(2000)
        assert page.locator("#pass-clock").inner_text() != ticking  # the clock runs: a screenshot stands still
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "pass-offline-360.png"), full_page=True)

        # Five minutes on, still offline: the page shows the next pass signed ahead.
        page.clock.fast_forward(5 * 60 * 1000)
        eventually(page, "(first) => document.getElementById('pass-token').textContent !== first", first, 10)
        rotated = shown_token(page)
        rotated_claims = tokens.parse(rotated)[0]
        assert rotated_claims.subject == worker.public_id and rotated_claims.issued_at > claims.issued_at
        assert page.locator("#pass-status", has_text="离线").is_visible()

        # A gatekeeper's scanner, offline as well, checks the rotated pass on the device.
        gate = scanner.new_page()
        gate.on("pageerror", lambda error: errors.append(str(error)))
        log_in(gate, server.base_url, gate_phone)
        gate.wait_for_url("**/scan")
        gate.locator("body[data-scanner-ready='1']").wait_for(timeout=60_000)
        eventually(gate, "() => navigator.serviceWorker.controller !== null")
        scanner.set_offline(True)
        gate.locator("#temperature").fill("36.6")
        gate.locator("#mask").check()  # never ticked for the gatekeeper (issue 16 item 8)
        gate.locator("#code-input").fill(rotated)
        gate.locator("#code-input").press("Enter")
        gate.locator("#answer[data-state=ok]").wait_for(state="visible", timeout=15_000)
        assert "签名有效" in gate.locator("#answer-message").inner_text()
        gate.locator("#answer").click()
        scanner.set_offline(False)
        gate.locator("#queue-upload").click()
        gate.locator("body[data-queued='0']").wait_for(timeout=30_000)
        session.rollback()
        scans = session.scalars(sa.select(Scan)).all()
        assert [(s.result.value, s.worker_id) for s in scans] == [("accepted", worker.id)]

        # Logging out deletes what the phone kept: offline, nothing of the pass is left.
        phone.set_offline(False)
        page.goto(server.base_url + "/me/pass")
        page.get_by_role("button", name="退出").click()
        page.wait_for_url("**/login")
        eventually(page, "async () => !(await caches.keys()).includes('wzc-pass-data')", timeout=10)
        phone.set_offline(True)
        with pytest.raises(Exception, match="ERR_"):
            page.goto(server.base_url + "/me/pass")
        assert errors == []
    finally:
        phone.close()
        scanner.close()
