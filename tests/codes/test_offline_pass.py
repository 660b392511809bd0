"""离线通行码 (issue 16.3): rotating passes signed ahead for the phone to show without signal, the
pass page's service worker, and paper passes printed from the web by enterprise admins and
officials."""

from __future__ import annotations

import base64
import itertools
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import cv2
import numpy as np
import pytest
import sqlalchemy as sa

from tests.builders import gate_of, make_enterprise, make_user, make_worker
from tests.codes.test_passes import public_keys_from
from tests.support.clock import at
from tests.support.qr import decode_qr
from tests.support.web import csrf_token_from
from wzcheckin.clock import SimulatedClock
from wzcheckin.codes import tokens
from wzcheckin.codes.models import PaperPass
from wzcheckin.codes.passes import passes_ahead
from wzcheckin.codes.qr import qr_matrix, svg_path
from wzcheckin.codes.tokens import TokenKind
from wzcheckin.core.models import AuditEntry
from wzcheckin.core.roles import Role
from wzcheckin.programme import ProgrammeError, load_programme
from wzcheckin.scanning.services import ScanInput, record_scan


def test_passes_ahead_cover_the_coming_hours_each_living_as_long_as_a_live_pass(db, vault, programme, keyring):
    worker = make_worker(db, vault, programme)
    now = at("2021-02-05 09:00:07")
    passes = passes_ahead(worker, keyring, programme, now)
    ttl = timedelta(seconds=programme.programme.pass_ttl_seconds)
    step = timedelta(seconds=programme.offline_pass.rotate_every_seconds)
    assert step < ttl
    assert passes[0].issued_at <= now < passes[0].expires_at  # one is already running
    assert passes[-1].expires_at >= now + timedelta(hours=programme.offline_pass.hours_ahead)
    for earlier, later in itertools.pairwise(passes):
        assert later.issued_at - earlier.issued_at == step
        assert later.issued_at < earlier.expires_at  # they overlap: the one shown has time left
    for issued in passes:
        claims = tokens.parse(issued.token)[0]
        assert claims.kind is TokenKind.PASS and claims.subject == worker.public_id
        assert (claims.issued_at, claims.expires_at) == (issued.issued_at, issued.expires_at)
        assert claims.expires_at - claims.issued_at == ttl
        assert keyring.verify(issued.token, issued.issued_at).subject == worker.public_id
    # On a grid of whole periods: a minute later (within the same period) the same passes are
    # signed again (Ed25519 is deterministic), so a phone refreshing its batch swaps nothing shown.
    later = passes_ahead(worker, keyring, programme, now + timedelta(minutes=1))
    assert {p.token for p in passes} <= {p.token for p in later}


def test_a_pass_signed_ahead_is_evidence_in_its_own_minutes_and_refused_long_before(db, vault, programme, keyring):
    enterprise = make_enterprise(db, vault)
    gate = gate_of(db, enterprise)
    gatekeeper = make_user(db, vault, Role.GATEKEEPER, checkpoint=gate)
    worker = make_worker(db, vault, programme, enterprise=enterprise, now=at("2021-01-20 09:00"))
    db.commit()
    signed_at = at("2021-02-05 07:00")
    later = passes_ahead(worker, keyring, programme, signed_at)[30]  # about two hours ahead
    shown = later.issued_at + timedelta(seconds=60)

    def scan(scanned_at, received_at):
        return record_scan(db, staff=gatekeeper, checkpoint=gate, keyring=keyring, programme=programme,
                           now=received_at, data=ScanInput(token=later.token, scanned_at=scanned_at, mask=True,
                                                           temperature=Decimal("36.6"))).scan

    accepted = scan(shown, shown + timedelta(minutes=3))  # shown offline, uploaded later
    assert accepted.result.value == "accepted" and accepted.is_evidence
    early = scan(later.issued_at - timedelta(hours=1), later.issued_at - timedelta(hours=1))
    assert early.result.value == "rejected" and early.reason == "scanned_at_outside_code"


def test_the_rotation_must_be_shorter_than_a_pass_lives(tmp_path):
    from wzcheckin.config import DEFAULT_PROGRAMME

    text = DEFAULT_PROGRAMME.read_text(encoding="utf-8").replace("rotate_every_seconds = 240",
                                                                   "rotate_every_seconds = 300")
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProgrammeError, match="rotate_every_seconds"):
        load_programme(str(path))


def _modules_image(size: int, modules: str) -> bytes:
    bits = np.unpackbits(np.frombuffer(base64.b64decode(modules), np.uint8))[: size * size].reshape(size, size)
    image = np.pad(np.where(bits == 1, 0, 255).astype(np.uint8), 4, constant_values=255)
    image = cv2.resize(image, None, fx=8, fy=8, interpolation=cv2.INTER_NEAREST)
    return cv2.imencode(".png", image)[1].tobytes()


def test_the_batch_is_for_the_worker_and_each_pass_draws_as_its_own_qr(app, client, db, vault, programme,
                                                                       login_as, tmp_path):
    worker = make_worker(db, vault, programme)
    db.commit()
    assert client.get("/me/pass/batch").status_code == 302  # to the log-in page
    login_as(worker.user)
    clock, start = SimulatedClock(tmp_path / "clock"), datetime.now(UTC).replace(microsecond=0)
    original, app.extensions["wzcheckin.clock"] = app.extensions["wzcheckin.clock"], clock
    try:
        clock.set(start)
        response = client.get("/me/pass/batch")
        page = client.get("/me/pass").text
    finally:
        app.extensions["wzcheckin.clock"] = original
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["server_now_ms"] == int(start.timestamp() * 1000)
    assert re.search(rf'data-owner="{body["owner"]}"', page)  # a kept batch of another account is not shown
    hours = programme.offline_pass.hours_ahead
    assert len(body["passes"]) >= hours * 3600 // programme.offline_pass.rotate_every_seconds
    keys = public_keys_from(client)
    for entry in (body["passes"][0], body["passes"][-1]):
        valid_from = datetime.fromtimestamp(entry["valid_from_ms"] / 1000, UTC)
        assert tokens.verify(entry["token"], keys, valid_from).subject == worker.public_id
        assert decode_qr(_modules_image(entry["size"], entry["modules"])) == entry["token"]
    gatekeeper = make_user(db, vault, Role.GATEKEEPER, checkpoint=gate_of(db, make_enterprise(db, vault)))
    db.commit()
    login_as(gatekeeper)
    assert client.get("/me/pass/batch").status_code == 403


def test_the_pass_page_registers_its_service_worker_and_log_in_pages_forget_the_kept_pass(client, db, vault,
                                                                                        programme, login_as):
    login_page = client.get("/login").text
    assert re.search(r'<script src="/static/js/pass/forget\.[0-9a-f]{12}\.js"', login_page)
    worker_script = client.get("/me/pass-sw.js")
    worker = make_worker(db, vault, programme)
    db.commit()
    login_as(worker.user)
    page = client.get("/me/pass").text
    assert 'data-sw-url="/me/pass-sw.js"' in page and 'data-sw-scope="/me/pass"' in page
    assert "forget." not in page  # only where nobody is logged in
    assert worker_script.mimetype == "application/javascript" and worker_script.headers["Cache-Control"] == "no-cache"
    body = worker_script.text
    assert 'const PAGE_PATH = "/me/pass"' in body and 'const LOGOUT_PATH = "/logout"' in body
    precache = re.search(r"const PRECACHE = (\[.*?\]);", body).group(1)
    assert re.search(r'"/static/js/pass/pass\.[0-9a-f]{12}\.js"', precache)
    for url in re.findall(r'"(/static/[^"]+)"', precache):
        with client.get(url) as asset:
            assert asset.status_code == 200, url


def _audit(db):
    db.rollback()
    return db.scalars(sa.select(AuditEntry).where(AuditEntry.action == "pass.issue").order_by(AuditEntry.id)).all()


def test_an_enterprise_admin_prints_a_paper_pass_for_their_own_worker_only(client, db, vault, programme, login_as):
    enterprise, other = make_enterprise(db, vault), make_enterprise(db, vault)
    worker = make_worker(db, vault, programme, enterprise=enterprise, name="王小明")
    stranger = make_worker(db, vault, programme, enterprise=other)
    admin = make_user(db, vault, Role.ENTERPRISE_ADMIN, checkpoint=gate_of(db, enterprise))
    db.commit()
    login_as(admin)
    roster = client.get("/enterprise").text
    assert f'action="/enterprise/roster/{worker.id}/paper-pass"' in roster
    token = csrf_token_from(roster)
    issued = client.post(f"/enterprise/roster/{worker.id}/paper-pass", data={"csrf_token": token})
    # Post/redirect/get: the post issues and sends the browser to the pass's own page.
    assert issued.status_code == 303
    printed = client.get(issued.headers["Location"])
    assert printed.status_code == 200 and printed.headers["Cache-Control"] == "no-store"
    html = printed.text
    assert "王*明" in html and "王小明" not in html and worker.id_number_tail in html
    assert '<svg class="qr" role="img"' in html and 'id="print-pass"' in html
    assert client.post(f"/enterprise/roster/{stranger.id}/paper-pass", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/enterprise/roster/{worker.id}/paper-pass").status_code == 400  # no CSRF token
    entries = _audit(db)
    assert [(e.actor_user_id, e.target_id, e.details["via"]) for e in entries] == [(admin.id, str(worker.id), "enterprise")]
    papers = db.scalars(sa.select(PaperPass).where(PaperPass.worker_id == worker.id)).all()
    assert len(papers) == 1 and papers[0].issued_by_user_id == admin.id and papers[0].revoked_at is None


def test_an_official_prints_a_paper_pass_by_id_number_and_the_earlier_one_stops_working(client, db, vault,
                                                                                       programme, login_as):
    worker = make_worker(db, vault, programme)
    id_number = vault.decrypt(worker.id_number_encrypted)
    official = make_user(db, vault, Role.OFFICIAL)
    db.commit()
    login_as(official)
    form = client.get("/official/paper-pass")
    assert form.status_code == 200
    token = csrf_token_from(form.text)
    wrong = client.post("/official/paper-pass", data={"csrf_token": token, "id_number": id_number[:-1] + "0"
                                                       if id_number[-1] != "0" else id_number[:-1] + "1"})
    assert wrong.status_code == 200 and 'id="id_number-error"' in wrong.text and 'id="paper-pass"' not in wrong.text
    first = client.post("/official/paper-pass", data={"csrf_token": token, "id_number": id_number},
                        follow_redirects=True)
    second = client.post("/official/paper-pass", data={"csrf_token": token, "id_number": id_number},
                         follow_redirects=True)
    assert 'id="paper-pass"' in first.text and id_number not in first.text and id_number not in second.text
    assert id_number not in first.request.url and id_number not in second.request.url
    assert [e.details["via"] for e in _audit(db)] == ["official", "official"]
    papers = db.scalars(sa.select(PaperPass).where(PaperPass.worker_id == worker.id).order_by(PaperPass.id)).all()
    assert len(papers) == 2 and papers[0].revoked_at is not None and papers[1].revoked_at is None


def test_reloading_a_printed_paper_pass_shows_the_same_pass_and_issues_nothing(client, db, vault, programme, keyring,
                                                                               login_as):
    """Post/redirect/get: printing posts once; the page it lands on can be reloaded (or printed again)
    without a new pass, a new audit entry or the earlier pass being cancelled. Once a newer pass is
    printed the old page says it was cancelled and shows no code."""
    enterprise, other = make_enterprise(db, vault), make_enterprise(db, vault)
    worker = make_worker(db, vault, programme, enterprise=enterprise)
    admin = make_user(db, vault, Role.ENTERPRISE_ADMIN, checkpoint=gate_of(db, enterprise))
    other_admin = make_user(db, vault, Role.ENTERPRISE_ADMIN, checkpoint=gate_of(db, other))
    official = make_user(db, vault, Role.OFFICIAL)
    db.commit()
    login_as(admin)
    token = csrf_token_from(client.get("/enterprise").text)
    issued = client.post(f"/enterprise/roster/{worker.id}/paper-pass", data={"csrf_token": token})
    assert issued.status_code == 303
    page_url = issued.headers["Location"]
    first, reload = client.get(page_url), client.get(page_url)
    assert first.status_code == reload.status_code == 200
    code = re.search(r'<svg class="qr".*?</svg>', first.text, re.S).group(0)
    assert code == re.search(r'<svg class="qr".*?</svg>', reload.text, re.S).group(0)  # the same pass, drawn again
    db.rollback()
    papers = db.scalars(sa.select(PaperPass).where(PaperPass.worker_id == worker.id)).all()
    assert len(papers) == 1 and papers[0].revoked_at is None
    assert len(_audit(db)) == 1
    # The code on the page is that paper pass: its modules are the pass's token, which verifies as it.
    paper_token = keyring.sign(TokenKind.PAPER_PASS, papers[0].public_id, papers[0].expires_at,
                               issued_at=papers[0].issued_at)
    assert f'd="{svg_path(qr_matrix(paper_token))}"' in code
    assert keyring.verify(paper_token, papers[0].issued_at).subject == papers[0].public_id

    # Another enterprise's admin cannot open it; an official can.
    login_as(other_admin)
    assert client.get(page_url).status_code == 404
    login_as(official)
    assert client.get(page_url).status_code == 200

    # A newer pass cancels this one: its page says so and shows no code.
    login_as(admin)
    client.post(f"/enterprise/roster/{worker.id}/paper-pass", data={"csrf_token": token})
    cancelled = client.get(page_url)
    assert cancelled.status_code == 200 and 'id="paper-pass-cancelled"' in cancelled.text
    assert '<svg class="qr"' not in cancelled.text
    assert len(_audit(db)) == 2
