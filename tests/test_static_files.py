"""A small, cached site (issue 17.3): static files under content-hashed names, cached for a year
and immutable; precompressed .br/.gz chosen by Accept-Encoding once `wzcheckin assets build` has
run; pages with ETags, so a revisit is a 304."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
from pathlib import Path

import brotli
import pytest

from tests.support.config import TEST_CONFIG
from wzcheckin import create_app
from wzcheckin.assets import IMMUTABLE, hashed_name

ROOT = Path(__file__).resolve().parent.parent
DECODER = "vendor/jsqr/jsQR.js"  # the largest file a page loads


def _digest(name: str) -> str:
    return hashlib.sha256((ROOT / "static" / name).read_bytes()).hexdigest()


def _app(database_dir: Path, build_dir: Path):
    url = f"sqlite:///{database_dir}/static.sqlite3"
    return create_app({**TEST_CONFIG, "DATABASE_URL": url, "SQLALCHEMY_DATABASE_URI": url,
                       "STATIC_BUILD_DIR": str(build_dir)})


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    """A build folder made once by the real command (Brotli at its best level takes seconds)."""
    build_dir = tmp_path_factory.mktemp("static-build")
    result = _app(tmp_path_factory.mktemp("db"), build_dir).test_cli_runner().invoke(args=["assets", "build"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["build_dir"] == str(build_dir) and summary["compressed"] > 0
    return build_dir


@pytest.fixture
def built(build_dir, tmp_path):
    """A copy of the build (a test may change it), and an app started after the install step."""
    copy = tmp_path / "static-build"
    shutil.copytree(build_dir, copy)
    return _app(tmp_path, copy), copy


def test_url_for_static_names_the_file_by_its_content(app):
    with app.test_request_context():
        from flask import url_for

        url = url_for("static", filename="css/app.css")
    assert url == f"/static/css/app.{_digest('css/app.css')[:12]}.css"
    assert hashed_name("LICENSE", "ab" * 32) == "LICENSE.abababababab"


def test_a_hashed_name_is_cached_for_a_year_and_the_plain_name_is_revalidated(client, app):
    hashed = f"/static/css/app.{_digest('css/app.css')[:12]}.css"
    with client.get(hashed) as response:
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == IMMUTABLE
        assert response.data == (ROOT / "static" / "css" / "app.css").read_bytes()
        etag = response.headers["ETag"]
    with client.get("/static/css/app.css") as plain:
        assert plain.status_code == 200 and plain.headers["Cache-Control"] == "no-cache"
        assert plain.headers["ETag"] == etag  # the content's, on every host and after every deploy
    with client.get("/static/css/app.css", headers={"If-None-Match": etag}) as again:
        assert again.status_code == 304 and again.data == b""
    # an old hashed name that never existed is not served as the current file
    with client.get("/static/css/app.000000000000.css") as missing:
        assert missing.status_code == 404


def test_the_page_links_hashed_files(client, db):
    page = client.get("/login").text
    assert re.search(r'href="/static/css/app\.[0-9a-f]{12}\.css"', page)
    assert 'href="/static/css/app.css"' not in page


def test_the_build_serves_brotli_or_gzip_as_the_browser_accepts(built):
    app, build_dir = built
    assert app.extensions["wzcheckin.assets"].built
    original = (ROOT / "static" / DECODER).read_bytes()
    with app.test_request_context():
        from flask import url_for

        url = url_for("static", filename=DECODER)
    client = app.test_client()
    with client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"}) as response:
        assert response.headers["Content-Encoding"] == "br" and response.headers["Cache-Control"] == IMMUTABLE
        assert response.headers["Vary"] == "Accept-Encoding"
        assert len(response.data) < len(original) / 2 and brotli.decompress(response.data) == original
    with client.get(url, headers={"Accept-Encoding": "gzip"}) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        assert len(response.data) < len(original) / 2 and gzip.decompress(response.data) == original
    with client.get(url) as response:
        assert "Content-Encoding" not in response.headers and response.data == original
        assert response.mimetype == "text/javascript"
        assert response.headers["X-Content-Type-Options"] == "nosniff" and response.headers["X-Request-ID"]
    # a PNG is not worth compressing: no sibling written
    assert not list(build_dir.glob("icons/*.png.br"))


def test_a_stale_build_is_not_used_and_a_rebuild_keeps_earlier_files(built, tmp_path):
    _, build_dir = built
    manifest = json.loads((build_dir / "manifest.json").read_text())
    manifest["files"]["css/app.css"] = "css/app.000000000000.css"  # made from other files
    (build_dir / "manifest.json").write_text(json.dumps(manifest))
    stale = _app(tmp_path, build_dir)
    assert not stale.extensions["wzcheckin.assets"].built
    hashed = f"/static/css/app.{_digest('css/app.css')[:12]}.css"
    with stale.test_client().get(hashed) as response:  # still served, from static/ itself
        assert response.status_code == 200 and response.headers["Cache-Control"] == IMMUTABLE
    # an earlier build's file stays servable after a rebuild (pages cached before an upgrade)
    (build_dir / "css" / "app.0123456789ab.css").write_text("/* an earlier release */")
    result = stale.test_cli_runner().invoke(args=["assets", "build"])
    assert result.exit_code == 0, result.output
    rebuilt = _app(tmp_path, build_dir)
    assert rebuilt.extensions["wzcheckin.assets"].built
    with rebuilt.test_client().get("/static/css/app.0123456789ab.css") as old:
        assert old.status_code == 200 and old.data == b"/* an earlier release */"


def test_a_page_has_an_etag_and_a_matching_revisit_is_a_304(client, db):
    first = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200 and first.headers["ETag"]
    assert first.headers["Cache-Control"] == "no-cache"  # nobody's data: kept, revalidated
    again = client.get("/", headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    other = client.get("/", headers={"Accept-Encoding": "gzip", "If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.data == first.data


def test_a_personal_page_keeps_no_store(client, db, vault, programme, login_as):
    from tests.builders import make_worker

    login_as(make_worker(db, vault, programme).user)
    page = client.get("/me")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store" and page.headers["ETag"]
