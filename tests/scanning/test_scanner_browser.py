"""The scanner page in real headless Chromium against a real gunicorn server:

* a pass shown to the (fake) camera is read by the vendored jsQR decoder (in its Web Worker) and
  the pickup staff see the green card;
* at a gate, with the network cut, a scan is verified on the device (WebCrypto Ed25519), queued
  in IndexedDB and answered provisionally; back online it is uploaded and lands exactly once.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
import qrcode
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.builders import PASSWORD, gate_of, make_enterprise, make_phone, make_user, make_worker
from tests.support.browser import launch_with_camera
from tests.support.config import ARTIFACTS
from tests.welfare.builders import make_pickup_point
from wzcheckin import clock
from wzcheckin.codes import tokens
from wzcheckin.codes.passes import current_pass
from wzcheckin.core.roles import Role
from wzcheckin.scanning.models import Scan
from wzcheckin.welfare.models import PackHandout

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

WIDTH, HEIGHT = 640, 480
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "zh-CN"}


def write_y4m(path, text: str, frames: int = 5) -> None:
    """A YUV4MPEG2 (4:2:0) clip of the QR code of ``text``, black on white, for Chromium's fake
    camera (``--use-file-for-fake-video-capture``), which plays it in a loop."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(text)
    code.make(fit=True)
    modules = np.array(code.get_matrix(), dtype=bool)  # the quiet zone included
    scale = (min(WIDTH, HEIGHT) * 9 // 10) // modules.shape[0]
    picture = np.where(np.kron(modules, np.ones((scale, scale), dtype=bool)), 16, 235).astype(np.uint8)
    luma = np.full((HEIGHT, WIDTH), 235, dtype=np.uint8)
    top, left = (HEIGHT - picture.shape[0]) // 2, (WIDTH - picture.shape[1]) // 2
    luma[top:top + picture.shape[0], left:left + picture.shape[1]] = picture
    chroma = np.full((HEIGHT // 2) * (WIDTH // 2), 128, dtype=np.uint8).tobytes()
    with open(path, "wb") as handle:
        handle.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for _ in range(frames):
            handle.write(b"FRAME\n" + luma.tobytes() + chroma + chroma)


def log_in(page, base_url: str, phone: str) -> None:
    page.goto(base_url + "/login")
    page.locator("input[name=phone]").fill(phone)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url("**/scan")


def test_a_pass_shown_to_the_camera_gets_the_green_card(gunicorn_server, seeded, browser, tmp_path):
    session = seeded.session
    point = make_pickup_point(session, stock=3, name="五马街道社区卫生服务中心")
    phone = make_phone("137")
    make_user(session, seeded.vault, Role.PICKUP_STAFF, checkpoint=point.checkpoint, phone=phone)
    worker = make_worker(session, seeded.vault, seeded.programme, name="陈志强")
    token = current_pass(worker, seeded.keyring, seeded.programme, clock.now()).token
    session.commit()
    server = gunicorn_server(workers=2)
    clip = tmp_path / "pass.y4m"
    write_y4m(clip, token)

    camera = launch_with_camera(browser, clip)
    try:
        context = camera.new_context(**PHONE)
        context.grant_permissions(["camera"], origin=server.base_url)
        # Phones without a native BarcodeDetector (most, and Chromium on Linux) use the vendored
        # jsQR in a worker: make sure that is the path under test.
        context.add_init_script("delete window.BarcodeDetector;")
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        log_in(page, server.base_url, phone)
        answer = page.locator("#answer[data-state=ok]")
        answer.wait_for(state="visible", timeout=60_000)
        assert page.locator("#answer-message").inner_text() == "请发放一份礼包。"
        assert "陈*强" in page.locator("#answer-subject").inner_text()
        assert page.locator("#answer-confirm").is_visible()
        assert page.evaluate("document.body.dataset.decoder") == "jsqr"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "scanner-green-360.png"))
        # Staff confirm the hand-over on screen.
        page.locator("#answer-confirm").click()
        page.locator("#answer-note", has_text="已确认发放").wait_for(timeout=10_000)
        assert page.locator("#stock-count").inner_text() == "2"
        # The camera keeps reading the same pass: within 3 s it is not scanned twice.
        assert errors == []
    finally:
        camera.close()
    session.rollback()
    handouts = session.scalars(sa.select(PackHandout)).all()
    assert len(handouts) == 1 and handouts[0].worker_id == worker.id and handouts[0].confirmed_at is not None


def test_offline_gate_scan_is_queued_then_lands_exactly_once(gunicorn_server, seeded, browser):
    session = seeded.session
    enterprise = make_enterprise(session, seeded.vault, name="温州瓯江鞋业有限公司")
    phone, admin_phone = make_phone("137"), make_phone("138")
    make_user(session, seeded.vault, Role.GATEKEEPER, checkpoint=gate_of(session, enterprise), phone=phone)
    make_user(session, seeded.vault, Role.ENTERPRISE_ADMIN, checkpoint=gate_of(session, enterprise), phone=admin_phone)
    worker = make_worker(session, seeded.vault, seeded.programme, enterprise=enterprise, name="刘海燕")
    now = clock.now()
    token = current_pass(worker, seeded.keyring, seeded.programme, now).token
    raw = tokens._decode(token)
    device_corpus = {
        "valid": token,
        "lower case": token.lower(),
        "expired": current_pass(worker, seeded.keyring, seeded.programme, now - timedelta(hours=1)).token,
        "altered": tokens._encode(raw[:6] + bytes([raw[6] ^ 1]) + raw[7:]),
        "unknown key": tokens.sign(Ed25519PrivateKey.generate(), 7, tokens.TokenKind.PASS, worker.public_id,
                                   now + timedelta(minutes=5), issued_at=now),
        "garbage": "HELLO",
        "reservation": seeded.keyring.sign(tokens.TokenKind.RESERVATION, "0011223344556677",
                                           now + timedelta(minutes=5), issued_at=now),
    }
    session.commit()
    server = gunicorn_server(workers=2)

    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        log_in(page, server.base_url, phone)
        page.locator("body[data-scanner-ready='1']").wait_for(timeout=60_000)
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30_000)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "scanner-gate-360.png"), full_page=True)

        # The device's own verification (codes.js, WebCrypto Ed25519) on a small corpus.
        statuses = page.evaluate("""async (tokens) => {
            const keys = await WZCodes.importKeys(JSON.parse(localStorage.getItem("wzc-keys")));
            const out = {};
            for (const [label, token] of Object.entries(tokens)) {
                const check = await WZCodes.verify(token, keys, Date.now());
                out[label] = [check.status, check.reason, check.claims ? check.claims.kind : null];
            }
            return out;
        }""", device_corpus)
        assert statuses == {
            "valid": ["valid", None, 1], "lower case": ["valid", None, 1],
            "expired": ["invalid", "expired", 1], "altered": ["invalid", "invalid_token", 1],
            "unknown key": ["unknown", "unknown_key", 1], "garbage": ["invalid", "invalid_token", None],
            "reservation": ["valid", None, 3],
        }

        context.set_offline(True)
        # The service worker serves the page, its scripts and the keys without a network.
        page.reload()
        page.locator("body[data-scanner-ready='1']").wait_for(timeout=30_000)
        assert page.locator("#net-status").inner_text().startswith("离线")
        page.locator("#mask").check()  # never pre-ticked (issue 16 item 8)
        page.locator("#temperature").fill("36.6")
        page.locator("#code-input").fill(token)
        page.locator("#code-input").press("Enter")
        page.locator("#answer[data-state=ok]").wait_for(state="visible", timeout=15_000)
        assert "签名有效" in page.locator("#answer-message").inner_text()
        page.locator("#answer").click()
        assert page.locator("#queue-count").inner_text() == "1"
        # A forged code is refused on the device too (and queued: the server records it).
        forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
        # This one comes from a keyboard-wedge scanner gun, fired with the focus still in the
        # temperature field.
        page.locator("#mask").check()
        page.locator("#temperature").fill("36.6")
        page.keyboard.type(forged)
        page.keyboard.press("Enter")
        page.locator("#answer[data-state=bad]").wait_for(state="visible", timeout=15_000)
        assert page.locator("#answer-message").inner_text().startswith("无效码")
        page.locator("#answer").click()
        assert page.locator("#queue-count").inner_text() == "2"
        session.rollback()
        assert session.scalar(sa.select(sa.func.count()).select_from(Scan)) == 0

        context.set_offline(False)
        # Back online the page uploads by itself; pressing "upload now" at the same moment too
        # must not record anything twice.
        page.locator("#queue-upload").click()
        page.locator("body[data-queued='0']").wait_for(timeout=30_000)
        page.locator("#queue-upload").click()
        assert page.locator("#results li.result-ok", has_text="已上传").count() >= 1
        assert errors == []
    finally:
        context.close()
    session.rollback()
    scans = session.scalars(sa.select(Scan).order_by(Scan.scanned_at)).all()
    assert [(s.result, s.reason) for s in scans] == [("accepted", "entry_allowed"), ("rejected", "invalid_token")]
    assert scans[0].worker_id == worker.id and scans[0].is_evidence and scans[0].device.startswith("web-")
    assert scans[0].received_at > scans[0].scanned_at

    # The enterprise admin sees the entry and the refusal on a phone, nothing wider than it.
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        page.goto(server.base_url + "/login")
        page.locator("input[name=phone]").fill(admin_phone)
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("form button[type=submit]").last.click()
        page.wait_for_url("**/enterprise")
        today = page.locator("#today")
        assert today.locator(".stat-ok .stat-number").inner_text() == "1"
        assert today.locator(".stat-bad .stat-number").inner_text() == "1"
        assert "刘*燕" in page.locator("#roster").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.screenshot(path=str(ARTIFACTS / "enterprise-360.png"), full_page=True)
    finally:
        context.close()
