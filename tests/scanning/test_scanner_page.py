"""The scanner page and its service worker, as served (the browser tests drive them for real)."""

import json
import re
from datetime import datetime

import pytest

from tests.builders import make_enterprise, make_user, make_worker
from tests.scanning.builders import gate_setup
from tests.welfare.builders import make_pickup_point, make_pickup_staff
from wzcheckin.core.roles import Role


def scanner_config(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="scanner-config">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


def test_gatekeepers_get_the_gate_mode_under_the_strict_policy(client, db, vault, programme, login_as):
    _enterprise, gate, gatekeeper, _worker = gate_setup(db, vault, programme)
    login_as(gatekeeper)
    response = client.get("/scan")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    # The QR decoder is plain JavaScript in a worker of our own: no WebAssembly, no blob: worker.
    assert "script-src 'self';" in csp and "worker-src 'self';" in csp
    assert "'unsafe-inline'" not in csp and "wasm-unsafe-eval" not in csp
    assert response.headers["Cache-Control"] == "no-store"
    html = response.text
    assert '<meta name="csrf-token" content="' in html
    assert 'id="temperature"' in html and 'id="mask"' in html and "企业门岗入厂" in html
    assert "<script>" not in html  # no inline script: only the JSON data block and 'self' files
    config = scanner_config(html)
    assert config["mode"] == "gate" and config["checkpoint"] == gate.ref
    assert config["accepted_kinds"] == ["pass", "paper_pass"] and config["fever_celsius"] == 37.3
    # content-hashed names (wzcheckin/assets.py)
    assert re.fullmatch(r"/static/vendor/jsqr/jsQR\.[0-9a-f]{12}\.js", config["urls"]["decoder"])
    assert re.fullmatch(r"/static/js/scanner/qr-worker\.[0-9a-f]{12}\.js", config["urls"]["decoder_worker"])
    assert config["text"]["reasons"]["no_mask"] == "未戴口罩，拒绝进入。"


def test_pickup_staff_see_their_point_and_its_stock(client, db, vault, login_as):
    point = make_pickup_point(db, stock=42, name="娄桥新居民服务站")
    login_as(make_pickup_staff(db, vault, point))
    html = client.get("/scan").text
    assert "娄桥新居民服务站" in html and 'id="stock-count">42<' in html and 'id="temperature"' not in html
    assert scanner_config(html)["urls"]["confirm"] == "/api/v1/pickups/{scan_id}/confirm"


@pytest.mark.parametrize("role", [Role.GATEKEEPER, Role.PICKUP_STAFF])
def test_staff_land_on_the_scanner_after_logging_in(client, db, vault, role):
    from tests.builders import PASSWORD, gate_of

    checkpoint = gate_of(db, make_enterprise(db, vault)) if role is Role.GATEKEEPER else make_pickup_point(db).checkpoint
    user = make_user(db, vault, role, checkpoint=checkpoint)
    db.commit()
    page = client.get("/login").text
    from tests.support.web import csrf_token_from

    response = client.post("/login", data={"phone": vault.decrypt(user.phone_encrypted), "password": PASSWORD,
                                           "csrf_token": csrf_token_from(page)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/scan")


def test_only_scanning_staff_open_the_scanner(client, db, vault, programme, login_as):
    assert client.get("/scan").status_code == 302  # to the log-in page
    login_as(make_worker(db, vault, programme).user)
    assert client.get("/scan").status_code == 403
    assert client.get("/scan/session").status_code == 403


def test_the_service_worker_is_served_from_the_root_with_its_asset_list(client, db):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "application/javascript" and response.headers["Cache-Control"] == "no-cache"
    body = response.text
    precache = json.loads(re.search(r"const PRECACHE = (\[.*?\]);", body).group(1))
    # the decoder and its worker, for a camera scan offline
    assert any(re.fullmatch(r"/static/vendor/jsqr/jsQR\.[0-9a-f]{12}\.js", url) for url in precache)
    assert any(re.fullmatch(r"/static/js/scanner/qr-worker\.[0-9a-f]{12}\.js", url) for url in precache)
    assert 'const SCANNER_PATH = "/scan"' in body and 'const KEYS_PATH = "/api/v1/keys"' in body
    for url in precache:  # every file it caches exists
        with client.get(url) as asset:
            assert asset.status_code == 200, url
    version = re.search(r'const VERSION = "([0-9a-f]+)"', body).group(1)
    assert version == re.search(r'const VERSION = "([0-9a-f]+)"', client.get("/sw.js").text).group(1)


def test_the_manifest_makes_the_scanner_installable(client, db):
    manifest = client.get("/manifest.webmanifest").get_json()
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    assert {icon["sizes"] for icon in manifest["icons"]} == {"192x192", "512x512"}


def test_the_scanner_speaks_english_when_asked(client, db, vault, login_as):
    point = make_pickup_point(db, stock=1)
    login_as(make_pickup_staff(db, vault, point))
    client.set_cookie("wzc_lang", "en")
    html = client.get("/scan").text
    assert "Welfare-pack pickup" in html and "Packs left" in html and "Upload queue" in html
    config = scanner_config(html)
    assert config["text"]["accepted"] == "Accepted"
    assert config["text"]["reasons"]["out_of_stock"] == "Out of stock at this pickup point."


# --- shared phones, the server's time, results (issues 16, 18, 20) --------------------------------

def test_each_account_gets_its_own_outbox_key_the_same_at_every_log_in(client, db, vault, programme, login_as):
    """A gatekeeper's queued scans are sealed with a key of their account: the same on every
    phone and after every log-in (their queue opens again), another gatekeeper's never."""
    _enterprise, gate, first, _worker = gate_setup(db, vault, programme)
    second = make_user(db, vault, Role.GATEKEEPER, checkpoint=gate)
    login_as(first)
    first_key = scanner_config(client.get("/scan").text)["outbox_key"]
    session = client.get("/scan/session").get_json()
    assert session["outbox_key"] == first_key and session["staff_id"] == first.id
    assert len(first_key) == 43  # 32 bytes, base64url without padding
    login_as(second)
    second_key = scanner_config(client.get("/scan").text)["outbox_key"]
    assert second_key != first_key
    login_as(first)
    assert scanner_config(client.get("/scan").text)["outbox_key"] == first_key


def test_an_ended_session_answers_the_page_in_json_and_the_log_in_returns_to_the_scanner(client, db, vault, programme):
    from tests.builders import PASSWORD
    from tests.support.web import csrf_token_from

    _enterprise, _gate, gatekeeper, _worker = gate_setup(db, vault, programme)
    db.commit()
    response = client.get("/scan/session")
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorised"
    # The page's link goes through the scanner, so the log-in comes back to it.
    assert client.get("/scan").status_code == 302
    response = client.post("/login", data={"phone": vault.decrypt(gatekeeper.phone_encrypted), "password": PASSWORD,
                                           "csrf_token": csrf_token_from(client.get("/login").text)})
    assert response.status_code == 302 and response.headers["Location"].split("?")[0].endswith("/scan")


def test_the_scanner_reads_the_servers_time_not_the_phones(app, client, db):
    """/scan/time gives the app's clock (the simulated one of the demo too), never cached."""
    from wzcheckin import clock

    response = client.get("/scan/time")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    data = response.get_json()
    with app.test_request_context():
        now = clock.now()
    assert abs(data["epoch_ms"] / 1000 - now.timestamp()) < 5
    assert abs(datetime.fromisoformat(data["now"]).timestamp() - data["epoch_ms"] / 1000) < 0.01


def test_venue_staff_get_a_link_to_todays_bookings_and_gates_do_not(client, db, vault, programme, login_as):
    from tests.venues.builders import make_venue, make_venue_staff

    login_as(make_venue_staff(db, vault, make_venue(db)))
    html = client.get("/scan").text
    assert 'id="venue-today"' in html and 'href="/venue/today"' in html and "今日预约" in html
    config = scanner_config(html)
    assert config["text"]["booking_needed"].startswith("这是个人通行码")
    _enterprise, _gate, gatekeeper, _worker = gate_setup(db, vault, programme)
    login_as(gatekeeper)
    assert 'id="venue-today"' not in client.get("/scan").text


def test_the_offline_fever_answer_does_not_claim_a_report_yet(client, db, vault, programme, login_as):
    _enterprise, _gate, gatekeeper, _worker = gate_setup(db, vault, programme)
    login_as(gatekeeper)
    text = scanner_config(client.get("/scan").text)["text"]
    assert "已上报" not in text["fever_offline"] and "上传后即上报" in text["fever_offline"]
    assert "已上报" not in text["symptoms_offline"]


def test_the_vendored_ed25519_is_the_npm_file_recorded_in_the_readme(client, db):
    """static/vendor/noble-ed25519/ed25519.js is @noble/ed25519's lib/index.js between one
    added line before and one after; the README records that file's sha256."""
    import hashlib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "static" / "vendor"
    lines = (root / "noble-ed25519" / "ed25519.js").read_bytes().split(b"\n")
    assert lines[0].startswith(b"var WZNobleEd25519 = ") and lines[-2] == b"return exports; })();" and lines[-1] == b""
    digest = hashlib.sha256(b"\n".join(lines[1:-2]) + b"\n").hexdigest()
    assert digest in (root / "README.md").read_text(encoding="utf-8")
    body = client.get("/sw.js").text
    precache = json.loads(re.search(r"const PRECACHE = (\[.*?\]);", body).group(1))
    assert any(re.fullmatch(r"/static/vendor/noble-ed25519/ed25519\.[0-9a-f]{12}\.js", url) for url in precache)
    assert 'const LOGOUT_PATH = "/logout"' in body
