"""The scanner page and its service worker, as served (the browser tests drive them for real)."""

import json
import re

import pytest

from tests.builders import make_enterprise, make_user, make_worker
from tests.scanning.builders import gate_setup
from tests.welfare.builders import make_pickup_point, make_pickup_staff
from wzcheckin.accounts.models import Role


def scanner_config(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="scanner-config">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


def test_gatekeepers_get_the_gate_mode_with_wasm_allowed_only_there(client, db, vault, programme, login_as):
    _enterprise, gate, gatekeeper, _worker = gate_setup(db, vault, programme)
    login_as(gatekeeper)
    response = client.get("/scan")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self' 'wasm-unsafe-eval'" in csp and "'unsafe-inline'" not in csp
    assert response.headers["Cache-Control"] == "no-store"
    html = response.text
    assert '<meta name="csrf-token" content="' in html
    assert 'id="temperature"' in html and 'id="mask"' in html and "企业门岗入厂" in html
    assert "<script>" not in html  # no inline script: only the JSON data block and 'self' files
    config = scanner_config(html)
    assert config["mode"] == "gate" and config["checkpoint"] == gate.ref
    assert config["accepted_kinds"] == ["pass", "paper_pass"] and config["fever_celsius"] == 37.3
    assert config["urls"]["wasm"].endswith("/static/vendor/zxing-wasm/zxing_reader.wasm")
    assert config["text"]["reasons"]["no_mask"] == "未戴口罩，拒绝进入。"
    other_page = client.get("/scan/session")
    assert "wasm-unsafe-eval" not in other_page.headers["Content-Security-Policy"]


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
    assert "/static/vendor/zxing-wasm/zxing_reader.wasm" in precache
    assert "/static/vendor/barcode-detector/ponyfill.js" in precache
    assert 'const SCANNER_PATH = "/scan"' in body and 'const KEYS_PATH = "/api/v1/keys"' in body
    for url in precache:  # every file it caches exists
        with client.get(url) as asset:
            assert asset.status_code == 200, url
    with client.get("/static/vendor/zxing-wasm/zxing_reader.wasm") as wasm:
        assert wasm.mimetype == "application/wasm" and wasm.data[:4] == b"\0asm"
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
