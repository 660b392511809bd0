"""The scanner on the phones staff really have, in real headless Chromium against a real
gunicorn server:

* issue 18 item 6: a browser without native Ed25519 in WebCrypto (before Chrome 137) and without
  WebAssembly (none under a policy without 'wasm-unsafe-eval' before Chromium 97 / Safari 16) still
  checks a code's signature offline with the vendored @noble/ed25519, and still reads codes with
  its camera (jsQR is plain JavaScript, in a worker), online and offline; a browser that cannot
  run the reader at all (no Web Workers) is offered the scanner gun and typed entry instead of
  "camera failed";
* issue 16 items 1-2: with the server living on 8 Feb 2021 (the demo's simulated clock) and the
  phone on today's date, scans are stamped on the server's timeline: a pass is accepted, a garbage
  code is "invalid code" (never a clock message), staff are warned that the phone's clock is off;
  at a venue a pass is answered "a booking code is needed" and today's bookings are one tap away.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.builders import gate_of, make_enterprise, make_phone, make_user, make_worker
from tests.scanning.test_scanner_browser import PHONE, log_in, write_y4m
from tests.scanning.test_scanner_shared_phone_browser import ready, scan_at_gate
from tests.support.browser import launch_with_camera
from tests.support.browser import log_in as log_in_anywhere
from tests.support.clock import at
from tests.venues.builders import make_venue, make_venue_staff
from wzcheckin import clock
from wzcheckin.clock import SimulatedClock
from wzcheckin.codes import tokens
from wzcheckin.codes.passes import current_pass
from wzcheckin.core.roles import Role
from wzcheckin.scanning.models import Scan

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

# A phone browser before Chrome 137: SubtleCrypto knows no Ed25519.
NO_NATIVE_ED25519 = """(() => {
    const proto = SubtleCrypto.prototype;
    const isEd25519 = (algorithm) =>
        String(typeof algorithm === "string" ? algorithm : (algorithm && algorithm.name) || "").toLowerCase() === "ed25519";
    for (const [name, position] of [["importKey", 2], ["verify", 0], ["sign", 0], ["generateKey", 0]]) {
        const original = proto[name];
        proto[name] = function (...args) {
            if (isEd25519(args[position])) return Promise.reject(new DOMException("Unrecognized name.", "NotSupportedError"));
            return original.apply(this, args);
        };
    }
})();"""

# A browser before Chromium 97: the page's 'wasm-unsafe-eval' is not understood, so the policy
# blocks every WebAssembly compilation; and no native BarcodeDetector.
NO_WASM = """(() => {
    delete window.BarcodeDetector;
    const blocked = () => new WebAssembly.CompileError("WebAssembly.Module(): Wasm code generation disallowed by embedder");
    WebAssembly.Module = function () { throw blocked(); };
    for (const name of ["compile", "instantiate", "compileStreaming", "instantiateStreaming"]) {
        WebAssembly[name] = () => Promise.reject(blocked());
    }
})();"""

CORPUS_CHECK = """async (tokens) => {
    const keys = await WZCodes.importKeys(JSON.parse(localStorage.getItem("wzc-keys")));
    const out = {engine: WZCodes.engine(keys)};
    for (const [label, token] of Object.entries(tokens)) {
        const check = await WZCodes.verify(token, keys, Date.now());
        out[label] = [check.status, check.reason];
    }
    return out;
}"""


def test_a_phone_without_native_ed25519_or_webassembly_still_checks_codes_offline(gunicorn_server, seeded, browser,
                                                                                   tmp_path):
    session = seeded.session
    enterprise = make_enterprise(session, seeded.vault)
    phone = make_phone("137")
    make_user(session, seeded.vault, Role.GATEKEEPER, checkpoint=gate_of(session, enterprise), phone=phone)
    worker = make_worker(session, seeded.vault, seeded.programme, enterprise=enterprise)
    now = clock.now()
    token = current_pass(worker, seeded.keyring, seeded.programme, now).token
    raw = tokens._decode(token)
    corpus = {
        "valid": token,
        "expired": current_pass(worker, seeded.keyring, seeded.programme, now - timedelta(hours=1)).token,
        "altered": tokens._encode(raw[:6] + bytes([raw[6] ^ 1]) + raw[7:]),
        "forged signature": token[:-2] + ("AA" if token[-2:] != "AA" else "BB"),
    }
    session.commit()
    server = gunicorn_server(workers=2)
    clip = tmp_path / "pass.y4m"
    write_y4m(clip, token)

    # The pass in front of the (fake) camera.
    camera = launch_with_camera(browser, clip)
    context = camera.new_context(**PHONE)
    context.grant_permissions(["camera"], origin=server.base_url)
    context.add_init_script(NO_NATIVE_ED25519)
    context.add_init_script(NO_WASM)
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        log_in(page, server.base_url, phone)
        ready(page)
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30_000)
        # Native Ed25519 is really gone in this page.
        assert page.evaluate("""() => crypto.subtle.importKey("raw", new Uint8Array(32), {name: "Ed25519"}, false, ["verify"])
            .then(() => "native", () => "refused")""") == "refused"
        assert page.evaluate("document.body.dataset.ed25519") == "fallback"
        # No WebAssembly: the camera reads the pass all the same (jsQR in a worker); a gate then
        # asks for the temperature. The camera is turned off for the typed scans below.
        read_by_camera_then_turned_off(page)
        assert page.evaluate(CORPUS_CHECK, corpus) == {
            "engine": "fallback", "valid": ["valid", None], "expired": ["invalid", "expired"],
            "altered": ["invalid", "invalid_token"], "forged signature": ["invalid", "invalid_token"],
        }

        # The service worker keeps the decoder and its worker for offline use.
        assert page.evaluate(DECODER_CACHED) == [True, True]
        context.set_offline(True)
        page.reload()
        ready(page)
        assert page.evaluate("document.body.dataset.ed25519") == "fallback"
        read_by_camera_then_turned_off(page)  # the decoder and its worker from the cache
        scan_at_gate(page, token, "36.6")
        page.locator("#answer[data-state=ok]").wait_for(state="visible", timeout=15_000)
        assert "签名有效" in page.locator("#answer-message").inner_text()
        page.locator("#answer").click()
        scan_at_gate(page, corpus["forged signature"], "36.6")
        page.locator("#answer[data-state=bad]").wait_for(state="visible", timeout=15_000)
        assert page.locator("#answer-message").inner_text().startswith("无效码")
        assert page.locator("#queue-count").inner_text() == "2"
        assert errors == []

        # A browser with no Web Workers cannot run the reader: the gun and typed entry instead.
        context.set_offline(False)
        old = context.new_page()
        old.add_init_script("delete window.Worker; delete window.BarcodeDetector;")
        old.on("pageerror", lambda error: errors.append(str(error)))
        old.goto(server.base_url + "/scan")
        old.locator("body[data-camera='unsupported']").wait_for(timeout=30_000)
        status = old.locator("#camera-status").inner_text()
        assert "扫码枪" in status and "手动输入" in status and "摄像头不可用" not in status
        assert old.locator("#camera-toggle").is_hidden() and old.evaluate("document.body.dataset.decoder") == "none"
        assert errors == []
    finally:
        context.close()
        camera.close()


DECODER_CACHED = """async () => {
    const urls = JSON.parse(document.getElementById("scanner-config").textContent).urls;
    return [Boolean(await caches.match(urls.decoder)), Boolean(await caches.match(urls.decoder_worker))];
}"""


def read_by_camera_then_turned_off(page) -> None:
    page.locator("body.awaiting-temperature").wait_for(timeout=30_000)
    assert page.evaluate("document.body.dataset.decoder") == "jsqr"
    assert page.locator("#camera-status").inner_text() == "已读取通行码：请输入体温后按“确定”。"
    page.locator("#camera-toggle").click()
    page.locator("#camera.camera-live").wait_for(state="detached", timeout=10_000)


@pytest.mark.on_backend("sqlite")  # the demo's database
def test_the_demo_server_on_8_february_2021_takes_scans_from_a_phone_on_todays_date(gunicorn_server, seeded, browser,
                                                                                       tmp_path):
    session = seeded.session
    enterprise = make_enterprise(session, seeded.vault)
    gate_phone = make_phone("137")
    make_user(session, seeded.vault, Role.GATEKEEPER, checkpoint=gate_of(session, enterprise), phone=gate_phone)
    venue = make_venue(session, name="温州市图书馆")
    staff = make_venue_staff(session, seeded.vault, venue)
    staff_phone = seeded.vault.decrypt(staff.phone_encrypted)
    worker = make_worker(session, seeded.vault, seeded.programme, enterprise=enterprise)
    demo_now = at("2021-02-08 10:00")
    token = current_pass(worker, seeded.keyring, seeded.programme, demo_now).token
    session.commit()
    clock_file = tmp_path / "demo-clock"
    SimulatedClock(clock_file).set(demo_now, running=True)
    server = gunicorn_server(workers=2, env={"WZCHECKIN_DEV": "1", "WZCHECKIN_SIMULATED_CLOCK_FILE": str(clock_file)})

    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        log_in(page, server.base_url, gate_phone)
        ready(page)
        # The phone is years ahead of the demo server: staff are told, scans use the server's time.
        assert page.evaluate("document.body.dataset.clock") == "off"
        warning = page.locator("#clock-status").inner_text()
        assert "本机时钟与服务器相差超过一分钟" in warning and "2021" in warning
        server_now = page.evaluate("WZScanner.serverNow()") / 1000
        assert abs(server_now - demo_now.timestamp()) < 120

        scan_at_gate(page, "HELLO-NOT-A-CODE", "36.6")
        page.locator("#answer[data-state=bad]").wait_for(state="visible", timeout=15_000)
        assert page.locator("#answer-message").inner_text().startswith("无效码")
        assert page.locator("#answer-confirm").is_hidden()
        page.locator("#answer").click()
        scan_at_gate(page, token, "36.6")
        page.locator("#answer[data-state=ok]").wait_for(state="visible", timeout=15_000)
        assert page.locator("#answer-message").inner_text() == "准予进入。"
        assert page.locator("#answer-confirm").is_hidden()
        page.locator("#answer").click()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.locator("form[action='/logout'] button").click()
        page.wait_for_url("**/login")

        # Venue staff: a worker's pass is not a booking; today's bookings are linked.
        log_in_anywhere(page, server, staff_phone)
        page.goto(server.base_url + "/scan")
        ready(page)
        assert page.locator("#venue-today").get_attribute("href") == "/venue/today"
        page.locator("#code-input").fill(token)
        page.locator("#code-input").press("Enter")
        page.locator("#answer[data-state=bad]").wait_for(state="visible", timeout=15_000)
        assert page.locator("#answer-message").inner_text().startswith("这是个人通行码：场馆入场需出示预约码")
        assert page.locator("#answer-confirm").is_hidden()
        page.locator("#answer").click()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.locator("#venue-today").click()
        page.wait_for_url("**/venue/today")
        assert errors == []
    finally:
        context.close()
    session.rollback()
    scans = session.scalars(sa.select(Scan).order_by(Scan.id)).all()
    assert [(s.result, s.reason) for s in scans] == [
        ("rejected", "invalid_token"), ("accepted", "entry_allowed"), ("rejected", "wrong_kind")]
    for scan in scans:  # stamped on the server's timeline, not the phone's
        assert abs((scan.scanned_at - scan.received_at).total_seconds()) < 60
        assert abs((scan.scanned_at - demo_now).total_seconds()) < 600
