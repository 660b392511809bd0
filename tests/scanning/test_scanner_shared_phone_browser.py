"""The scanner on a shared phone, in real headless Chromium against a real gunicorn server
(issue 20): two gatekeepers on one browser profile, and a session that ends mid-shift.

* the first gatekeeper's offline scans stay sealed on the phone after they log out: nothing of
  them is readable (no cached page, no plain record), the second gatekeeper sees only how many
  wait, and nothing is uploaded under the second; the first logs in again and the queue drains
  under the first's account;
* scans taken after the session ended stay queued and land once the same account logs in again,
  through the page's own "log in again" link that returns to the scanner.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from tests.builders import PASSWORD, gate_of, make_enterprise, make_phone, make_user, make_worker
from tests.scanning.test_scanner_browser import PHONE, log_in
from wzcheckin import clock
from wzcheckin.codes.passes import current_pass
from wzcheckin.core.roles import Role
from wzcheckin.scanning.models import Scan

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

# What the phone keeps: every cached page's path, and every outbox record as stored.
PHONE_STORAGE = """async () => {
    const pages = [];
    for (const name of await caches.keys()) {
        const cache = await caches.open(name);
        for (const request of await cache.keys()) pages.push(new URL(request.url).pathname);
    }
    const records = await new Promise((resolve, reject) => {
        const open = indexedDB.open("wzcheckin-scanner");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
            const request = open.result.transaction("outbox").objectStore("outbox").getAll();
            request.onsuccess = () => resolve(request.result.map((record) => ({
                fields: Object.keys(record).sort(), owner: record.owner,
                text: JSON.stringify(record) + new TextDecoder("latin1").decode(record.sealed || new ArrayBuffer(0)),
            })));
        };
    });
    return {pages, records};
}"""


def ready(page) -> None:
    page.locator("body[data-scanner-ready='1']").wait_for(timeout=60_000)


def scan_at_gate(page, token: str, temperature: str) -> None:
    page.locator("#mask").check()
    page.locator("#temperature").fill(temperature)
    page.locator("#code-input").fill(token)
    page.locator("#code-input").press("Enter")


def log_out(page) -> None:
    page.locator("form[action='/logout'] button").click()
    page.wait_for_url("**/login")


def count_scans(session) -> int:
    session.rollback()
    return session.scalar(sa.select(sa.func.count()).select_from(Scan))


def test_two_gatekeepers_on_one_phone_never_see_or_upload_each_others_queue(gunicorn_server, seeded, browser):
    session = seeded.session
    enterprise = make_enterprise(session, seeded.vault, name="温州瓯江鞋业有限公司")
    gate = gate_of(session, enterprise)
    first_phone, second_phone = make_phone("137"), make_phone("137")
    first = make_user(session, seeded.vault, Role.GATEKEEPER, checkpoint=gate, phone=first_phone)
    second = make_user(session, seeded.vault, Role.GATEKEEPER, checkpoint=gate, phone=second_phone)
    worker = make_worker(session, seeded.vault, seeded.programme, enterprise=enterprise, name="刘海燕")
    token = current_pass(worker, seeded.keyring, seeded.programme, clock.now()).token
    session.commit()
    first_id, second_id = first.id, second.id
    server = gunicorn_server(workers=2)

    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        log_in(page, server.base_url, first_phone)
        ready(page)
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30_000)
        # The uplink to the scan API is down (the rest of the site still answers).
        context.route("**/api/v1/scans", lambda route: route.abort())
        scan_at_gate(page, token, "36.6")
        page.locator("#answer[data-state=ok]").wait_for(state="visible", timeout=15_000)
        assert "签名有效" in page.locator("#answer-message").inner_text()
        page.locator("#answer").click()
        scan_at_gate(page, token, "38.2")
        page.locator("#answer[data-state=bad]").wait_for(state="visible", timeout=15_000)
        fever = page.locator("#answer-message").inner_text()
        # Not uploaded yet, so not reported yet.
        assert "38.2" in fever and "已上报" not in fever and "上传后即上报" in fever
        page.locator("#answer").click()
        assert page.locator("#queue-count").inner_text() == "2"
        assert page.locator("#results li").count() == 2

        log_out(page)
        stored = page.evaluate(PHONE_STORAGE)
        assert "/scan" not in stored["pages"]  # the cached scanner page went with the log-out
        assert len(stored["records"]) == 2
        for record in stored["records"]:
            assert record["fields"] == ["created", "iv", "owner", "scan_id", "sealed"]
            assert record["owner"] == first_id
            assert token not in record["text"] and token.lower() not in record["text"] and "38.2" not in record["text"]

        log_in(page, server.base_url, second_phone)
        ready(page)
        context.unroute("**/api/v1/scans")
        page.locator("#queue-others:not([hidden])").wait_for(timeout=10_000)
        assert page.locator("#queue-others").inner_text().startswith("另一账号有 2 条")
        assert page.locator("#queue-count").inner_text() == "0"
        assert page.locator("#queue-list li").count() == 0 and page.locator("#results li").count() == 0
        assert page.evaluate("document.body.innerText").count("签名有效") == 0
        page.locator("#queue-upload").click()
        page.evaluate("WZScanner.flush()")
        page.wait_for_timeout(1500)
        assert count_scans(session) == 0  # nothing of the first uploaded under the second
        # The second's own scans go straight through.
        scan_at_gate(page, token, "36.5")
        page.locator("#answer[data-state=ok]").wait_for(state="visible", timeout=15_000)
        assert page.locator("#answer-message").inner_text() == "准予进入。"
        # The hand-over button is for pickup points only.
        assert not page.locator("#answer-confirm").is_visible()
        page.locator("#answer").click()
        assert page.evaluate("document.body.dataset.queuedOthers") == "2"

        log_out(page)
        log_in(page, server.base_url, first_phone)
        ready(page)
        page.locator("body[data-queued='0']").wait_for(timeout=30_000)
        assert page.locator("#results li", has_text="已上传").count() == 2
        assert page.locator("#queue-others").is_hidden()
        assert errors == []
    finally:
        context.close()
    session.rollback()
    scans = session.scalars(sa.select(Scan).order_by(Scan.id)).all()
    assert sorted((s.staff_user_id, s.result, s.reason) for s in scans) == sorted([
        (second_id, "accepted", "entry_allowed"),
        (first_id, "accepted", "entry_allowed"),
        (first_id, "rejected", "fever"),
    ])


def test_scans_taken_after_the_session_ended_land_when_the_same_account_logs_in(gunicorn_server, seeded, browser):
    session = seeded.session
    enterprise = make_enterprise(session, seeded.vault)
    phone = make_phone("137")
    gatekeeper = make_user(session, seeded.vault, Role.GATEKEEPER, checkpoint=gate_of(session, enterprise), phone=phone)
    worker = make_worker(session, seeded.vault, seeded.programme, enterprise=enterprise)
    token = current_pass(worker, seeded.keyring, seeded.programme, clock.now()).token
    session.commit()
    gatekeeper_id = gatekeeper.id
    server = gunicorn_server(workers=2)

    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        log_in(page, server.base_url, phone)
        ready(page)
        context.clear_cookies()  # the session ends, as an idle time-out would end it
        scan_at_gate(page, token, "36.6")
        page.locator("#answer[data-state=ok]").wait_for(state="visible", timeout=15_000)
        assert page.locator("#answer-note").inner_text() == "已存入待上传队列：请重新登录后上传。"
        page.locator("#answer").click()
        assert page.locator("#session-status").is_visible()
        assert "登录已过期" in page.locator("#session-status").inner_text()
        assert page.locator("#queue-count").inner_text() == "1"
        assert count_scans(session) == 0

        page.locator("#login-again").click()
        page.wait_for_url("**/login")
        page.locator("input[name=phone]").fill(phone)
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("form button[type=submit]").last.click()
        page.wait_for_url(lambda url: urlsplit(url).path == "/scan")
        ready(page)
        page.locator("body[data-queued='0']").wait_for(timeout=30_000)
        assert page.locator("#results li", has_text="已上传").count() == 1
        assert page.locator("#session-status").is_hidden()
        assert errors == []
    finally:
        context.close()
    session.rollback()
    scans = session.scalars(sa.select(Scan)).all()
    assert [(s.staff_user_id, s.result, s.reason) for s in scans] == [(gatekeeper_id, "accepted", "entry_allowed")]
