"""Page weight: what a phone downloads (gzip, as sent) for the worker's pages and the scanner,
first load and then with its cache warm; and the server time to render the pass page."""

from __future__ import annotations

import re
import statistics
import time
from html.parser import HTMLParser
from urllib.parse import urljoin

import requests

WORKER = ("13857702000", "liuwen2021")      # the demo worker
GATEKEEPER = ("13957720001", "liuwen2021")  # the demo gatekeeper
WORKER_PAGES = ["/me", "/me/pass", "/venues", "/me/bookings"]
STAFF_PAGES = ["/scan"]


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and attributes.get("src"):
            self.urls.append(attributes["src"])
        if tag == "link" and attributes.get("href") and attributes.get("rel") in ("stylesheet", "manifest", "icon"):
            self.urls.append(attributes["href"])


def _log_in(base_url: str, phone: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base_url + "/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    response = session.post(base_url + "/login", data={"csrf_token": token, "phone": phone, "password": password})
    response.raise_for_status()
    return session


def _wire_bytes(session: requests.Session, url: str, headers: dict | None = None) -> tuple[int, requests.Response]:
    response = session.get(url, headers={"Accept-Encoding": "gzip", **(headers or {})}, stream=True)
    body = response.raw.read(decode_content=False)
    return len(body), response


def _page(session: requests.Session, base_url: str, path: str) -> dict:
    html_bytes, response = _wire_bytes(session, base_url + path)
    html = session.get(base_url + path).text
    parser = _Assets()
    parser.feed(html)
    first = cached = html_bytes
    for asset in dict.fromkeys(parser.urls):
        url = urljoin(base_url + path, asset)
        size, asset_response = _wire_bytes(session, url)
        first += size
        etag = asset_response.headers.get("ETag")
        modified = asset_response.headers.get("Last-Modified")
        conditional = {"If-None-Match": etag} if etag else ({"If-Modified-Since": modified} if modified else {})
        again, again_response = _wire_bytes(session, url, conditional)
        cached += again if again_response.status_code != 304 else 0
    return {"path": path, "status": response.status_code, "first": first, "cached": cached}


def measure(base_url: str, _database_url: str) -> list[dict]:
    rows = []
    worker = _log_in(base_url, *WORKER)
    for path in WORKER_PAGES:
        result = _page(worker, base_url, path)
        rows.append({"figure": f"worker page {path}: first load (gzip)", "value": round(result["first"] / 1024, 1),
                     "unit": "KB", "note": f"HTTP {result['status']}, target ≤ 50 KB"})
        rows.append({"figure": f"worker page {path}: cached load", "value": round(result["cached"] / 1024, 1),
                     "unit": "KB"})
    staff = _log_in(base_url, *GATEKEEPER)
    for path in STAFF_PAGES:
        result = _page(staff, base_url, path)
        rows.append({"figure": f"scanner page {path}: first load excl. the decoder (gzip)",
                     "value": round(result["first"] / 1024, 1), "unit": "KB", "note": f"HTTP {result['status']}"})
        rows.append({"figure": f"scanner page {path}: cached load", "value": round(result["cached"] / 1024, 1),
                     "unit": "KB"})
    return rows


def pass_render_ms(database_url: str, samples: int = 200) -> float:
    """Median time for the app (no network) to answer GET /me/pass for a logged-in worker."""
    from tests.conftest import TEST_CONFIG
    from wzcheckin import create_app

    app = create_app({**TEST_CONFIG, "DATABASE_URL": database_url, "SQLALCHEMY_DATABASE_URI": database_url})
    client = app.test_client()
    page = client.get("/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"csrf_token": token, "phone": WORKER[0], "password": WORKER[1]})
    durations = []
    for _ in range(samples):
        started = time.perf_counter()
        response = client.get("/me/pass")
        durations.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return statistics.median(durations)
