"""POST /api/v1/scans: idempotency by scan_id, the scan-time window, the forged / altered /
expired / revoked / wrong-kind corpus, authentication and CSRF, and the reason messages."""

import base64
from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.builders import make_user, make_worker
from tests.scanning.builders import bearer, gate_setup, pass_token, post_scan, scan_id
from tests.support.statements import statements_sent
from wzcheckin import clock
from wzcheckin.accounts.sessions import disable_user
from wzcheckin.codes import tokens
from wzcheckin.codes.keys import revoke_signing_key
from wzcheckin.codes.passes import issue_paper_pass, revoke_paper_passes
from wzcheckin.codes.tokens import TokenKind
from wzcheckin.core.roles import Role
from wzcheckin.scanning.messages import BASE_REASONS, reason_message
from wzcheckin.scanning.models import Checkpoint, CheckpointKind, Scan

CHECKS = {"mask": True, "temperature": 36.6}


@pytest.fixture
def gate(db, vault, programme, keyring):
    """(headers of a gatekeeper, a worker of that enterprise, a fresh pass of theirs)."""
    _enterprise, _gate, gatekeeper, worker = gate_setup(db, vault, programme)
    headers = bearer(db, gatekeeper, clock.now())
    token = pass_token(worker, keyring, programme, clock.now())
    db.commit()
    return headers, worker, token, gatekeeper


def count_scans(db) -> int:
    db.rollback()
    return db.scalar(sa.select(sa.func.count()).select_from(Scan))


def test_the_same_scan_id_returns_the_first_answer_and_records_nothing_new(client, db, gate):
    headers, _worker, token, _ = gate
    sid = scan_id()
    first = post_scan(client, headers, token, scan_id=sid, **CHECKS)
    assert first.status_code == 200 and first.get_json()["replayed"] is False
    # Retried with different checks (a buggy device): still the first answer.
    again = post_scan(client, headers, token, scan_id=sid, mask=False, temperature=39.0)
    body, first_body = again.get_json(), first.get_json()
    assert body["replayed"] is True
    assert {k: body[k] for k in ("scan_id", "result", "reason", "message", "subject", "scanned_at")} == \
           {k: first_body[k] for k in ("scan_id", "result", "reason", "message", "subject", "scanned_at")}
    assert count_scans(db) == 1


def test_a_scan_id_of_another_staff_member_is_a_conflict(client, db, vault, gate):
    headers, _worker, token, gatekeeper = gate
    sid = scan_id()
    assert post_scan(client, headers, token, scan_id=sid, **CHECKS).status_code == 200
    colleague = make_user(db, vault, Role.GATEKEEPER, checkpoint=gatekeeper.checkpoint)
    other = bearer(db, colleague, clock.now())
    db.commit()
    response = post_scan(client, other, token, scan_id=sid, **CHECKS)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "scan_id_conflict"
    assert count_scans(db) == 1


def test_queued_scans_are_judged_at_their_scan_time_within_the_offline_window(client, db, programme, keyring, gate):
    headers, worker, _token, _ = gate
    now = clock.now()
    max_age = timedelta(hours=programme.programme.offline_scan_max_age_hours)
    # A pass that expired an hour ago was valid when it was scanned two hours ago.
    old_pass = pass_token(worker, keyring, programme, now - timedelta(hours=2))
    body = post_scan(client, headers, old_pass, scanned_at=(now - timedelta(hours=2)).isoformat(), **CHECKS).get_json()
    assert (body["result"], body["reason"]) == ("accepted", "entry_allowed")
    assert body["scanned_at"].startswith((now - timedelta(hours=2)).astimezone(UTC).isoformat()[:16])
    too_old = post_scan(client, headers, old_pass, scanned_at=(now - max_age - timedelta(minutes=1)).isoformat(),
                        **CHECKS).get_json()
    assert too_old["reason"] == "scan_too_old"
    assert str(programme.programme.offline_scan_max_age_hours) in too_old["message"]
    future = post_scan(client, headers, old_pass, scanned_at=(now + timedelta(minutes=30)).isoformat(),
                       **CHECKS).get_json()
    assert future["reason"] == "scan_in_future"
    zulu = post_scan(client, headers, pass_token(worker, keyring, programme, now),
                     scanned_at=now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"), **CHECKS).get_json()
    assert zulu["result"] == "accepted"  # what a browser's Date.toISOString() sends
    db.rollback()
    evidence = db.scalars(sa.select(Scan).where(Scan.is_evidence.is_(True)).order_by(Scan.scanned_at)).all()
    assert len(evidence) == 2 and evidence[0].scanned_at < evidence[0].received_at - timedelta(hours=1)


def _corpus(db, vault, programme, keyring, worker):
    now = clock.now()
    good = pass_token(worker, keyring, programme, now)
    raw = tokens._decode(good)
    altered_subject = tokens._encode(raw[:6] + bytes([raw[6] ^ 1]) + raw[7:])
    altered_expiry = tokens._encode(raw[:18] + (int(now.timestamp()) + 10**6).to_bytes(4, "big") + raw[22:])
    altered_signature = tokens._encode(raw[:-1] + bytes([raw[-1] ^ 0x80]))
    stranger_key = Ed25519PrivateKey.generate()
    forged_same_kid = tokens.sign(stranger_key, keyring.signing_key_id, TokenKind.PASS, worker.public_id,
                                  now + timedelta(minutes=5), issued_at=now)
    forged_unknown_kid = tokens.sign(stranger_key, 7, TokenKind.PASS, worker.public_id, now + timedelta(minutes=5),
                                     issued_at=now)
    expired = pass_token(worker, keyring, programme, now - timedelta(seconds=programme.programme.pass_ttl_seconds + 1))
    _paper, paper = issue_paper_pass(db, worker, keyring, programme, now)
    revoke_paper_passes(db, worker, now)
    unknown_worker = keyring.sign(TokenKind.PASS, "0011223344556677", now + timedelta(minutes=5), issued_at=now)
    reservation = keyring.sign(TokenKind.RESERVATION, worker.public_id, now + timedelta(minutes=5), issued_at=now)
    poster = keyring.sign(TokenKind.POSTER, worker.public_id, now + timedelta(minutes=5), issued_at=now)
    wrong_version = tokens._encode(bytes([3]) + raw[1:])
    return [
        ("altered subject", altered_subject, "invalid_token"),
        ("altered expiry", altered_expiry, "invalid_token"),
        ("altered signature", altered_signature, "invalid_token"),
        ("forged with our key id", forged_same_kid, "invalid_token"),
        ("forged with another key id", forged_unknown_kid, "invalid_token"),
        ("expired", expired, "expired"),
        ("revoked paper pass", paper.token, "revoked"),
        ("unknown subject", unknown_worker, "invalid_token"),
        ("reservation at a gate", reservation, "wrong_kind"),
        ("poster at a gate", poster, "wrong_kind"),
        ("another version", wrong_version, "invalid_token"),
        ("truncated", good[:-4], "invalid_token"),
        ("not base32", "1" * 138, "invalid_token"),
        ("a URL", "https://example.com/?id=330302199001011234", "invalid_token"),
        ("empty-ish", "   ", "invalid_token"),
    ]


def test_the_bad_code_corpus_is_refused_with_its_reason(client, db, vault, programme, keyring, gate):
    headers, worker, good, _ = gate
    corpus = _corpus(db, vault, programme, keyring, worker)
    db.commit()
    for label, token, reason in corpus:
        response = post_scan(client, headers, token, **CHECKS)
        assert response.status_code == 200, label
        body = response.get_json()
        assert (body["result"], body["reason"]) == ("rejected", reason), label
        assert any("\u4e00" <= char <= "\u9fff" for char in body["message"]), label
    # Lower case (some scanner guns) and surrounding whitespace are fine.
    assert post_scan(client, headers, f" {good.lower()}\n", **CHECKS).get_json()["result"] == "accepted"
    assert count_scans(db) == len(corpus) + 1  # every refusal is recorded too
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(Scan).where(Scan.is_evidence.is_(True))) == 1


def test_a_revoked_signing_key_and_a_disabled_worker_are_refused(client, db, vault, programme, keyring, gate):
    headers, worker, token, _ = gate
    disable_user(db, worker.user, clock.now())
    db.commit()
    assert post_scan(client, headers, token, **CHECKS).get_json()["reason"] == "revoked"
    revoke_signing_key(db, keyring.signing_key_id, clock.now())
    db.commit()
    # No cache to clear: the app's keyring notices the revocation at the next request.
    assert post_scan(client, headers, token, **CHECKS).get_json()["reason"] == "revoked_key"


def test_malformed_requests_are_422_and_record_nothing(client, db, gate):
    headers, _worker, token, _ = gate
    cases = [
        ({"scan_id": "short"}, "invalid_scan_id"),
        ({"scan_id": "has spaces in it"}, "invalid_scan_id"),
        ({"scanned_at": "yesterday"}, "invalid_scanned_at"),
        ({"scanned_at": "2021-02-05T09:00:00"}, "invalid_scanned_at"),
        ({"temperature": "hot"}, "invalid_temperature"),
        ({"temperature": 52}, "invalid_temperature"),
        ({"mask": "yes"}, "invalid_mask"),
        ({"symptoms": 1}, "invalid_symptoms"),
        ({"colour": "red"}, "unknown_field"),
    ]
    for fields, code in cases:
        response = post_scan(client, headers, token, **fields)
        assert (response.status_code, response.get_json()["error"]["code"]) == (422, code), fields
    long = client.post("/api/v1/scans", json={"token": "A" * 300}, headers=headers)
    assert long.get_json()["error"]["code"] == "token_too_long"
    assert client.post("/api/v1/scans", data="token=x", headers=headers).status_code == 415
    assert count_scans(db) == 0


def test_who_may_scan(client, db, vault, programme, keyring, gate, login_as):
    _headers, worker, token, _ = gate
    assert client.post("/api/v1/scans", json={"token": token}).status_code == 401
    worker_headers = bearer(db, worker.user, clock.now())
    official = make_user(db, vault, Role.OFFICIAL)
    db.commit()
    assert client.post("/api/v1/scans", json={"token": token}, headers=worker_headers).status_code == 403
    login_as(official)
    # A session cookie without the CSRF header is refused before anything else.
    assert client.post("/api/v1/scans", json={"token": token}).get_json()["error"]["code"] == "csrf_failed"


def test_the_scanner_page_csrf_token_authorises_cookie_scans(client, db, gate, login_as):
    import re

    _headers, _worker, token, gatekeeper = gate
    login_as(gatekeeper)
    page = client.get("/scan").text
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    assert client.post("/api/v1/scans", json={"token": token, **CHECKS}).status_code == 403
    response = client.post("/api/v1/scans", json={"token": token, **CHECKS}, headers={"X-CSRFToken": csrf})
    assert response.status_code == 200 and response.get_json()["result"] == "accepted"
    fresh = client.get("/scan/session").get_json()
    assert fresh["staff_id"] == gatekeeper.id and fresh["checkpoint"] == gatekeeper.checkpoint.ref
    again = client.post("/api/v1/scans", json={"token": token, **CHECKS}, headers={"X-CSRFToken": fresh["csrf_token"]})
    assert again.status_code == 200


def test_a_checkpoint_kind_without_a_handler_answers_checkpoint_unavailable(client, db, vault, programme, keyring,
                                                                            monkeypatch):
    from wzcheckin.scanning import services

    monkeypatch.delitem(services.HANDLERS, CheckpointKind.TRAINING, raising=False)
    checkpoint = Checkpoint(ref="training:T1", kind=CheckpointKind.TRAINING, code="T1", name="培训",
                            created_at=clock.now())
    db.add(checkpoint)
    db.flush()
    staff = make_user(db, vault, Role.GATEKEEPER)
    staff.checkpoint = checkpoint
    headers = bearer(db, staff, clock.now())
    token = pass_token(make_worker(db, vault, programme), keyring, programme, clock.now())
    db.commit()
    assert post_scan(client, headers, token).get_json()["reason"] == "checkpoint_unavailable"


def test_every_reason_has_a_chinese_and_an_english_message(app):
    placeholders = {"max_age_hours": 72, "temperature": "37.5", "venue": "市图书馆", "slot": "09:00–10:00",
                    "when_at": "2021-02-05T01:00:00+00:00", "where": "五马街道", "why": "not_pledged"}
    for language in ("zh-CN", "en"):
        with app.test_request_context(headers={"Accept-Language": language}):
            for reason in BASE_REASONS:
                message = reason_message(reason, placeholders)
                assert message and "%(" not in message, (language, reason)
                if language == "zh-CN":
                    assert any("\u4e00" <= char <= "\u9fff" for char in message), reason
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        expected = "已于 2021-02-05 09:00 在五马街道领取过，每人限领一份。"  # the one date style of every page
        assert reason_message("already_collected", placeholders) == expected


def test_public_keys_verify_a_pass_as_the_scanner_does(client, db, vault, programme, keyring):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    worker = make_worker(db, vault, programme)
    token = pass_token(worker, keyring, programme, clock.now())
    db.commit()
    keys = client.get("/api/v1/keys").get_json()["keys"]
    public = {k["kid"]: Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(k["public_key"] + "=="))
              for k in keys}
    assert tokens.verify(token, public, clock.now()).subject == worker.public_id


def test_a_bearer_scan_reads_its_caller_as_one_row_and_a_disabled_gatekeeper_fails_at_the_next_scan(
        app, client, db, vault, gate):
    """POST /scans asks for the light principal (api_route bearer_principal): its current_user is
    an ApiPrincipal with the gatekeeper's id, role, language and checkpoint; other API routes still
    get the ORM user; a disabled account or a revoked token is refused at the next scan."""
    from flask_login import user_loaded_from_request

    from wzcheckin.accounts.api_tokens import ApiPrincipal, CheckpointRow
    from wzcheckin.accounts.models import User

    headers, _worker, token, gatekeeper = gate
    gatekeeper.language = "en"
    db.commit()
    seen = []
    with user_loaded_from_request.connected_to(lambda _app, user: seen.append(user), app):
        body = post_scan(client, headers, token, **CHECKS).get_json()
        assert client.get("/api/v1/whoami", headers=headers).status_code == 200
    assert (body["result"], body["reason"]) == ("accepted", "entry_allowed")
    messages = {}
    for language in ("en", "zh-CN"):
        with app.test_request_context(headers={"Accept-Language": language}):
            messages[language] = reason_message("entry_allowed")
    assert body["message"] == messages["en"] != messages["zh-CN"]  # the caller's saved language
    principal, whoami_user = seen
    assert isinstance(principal, ApiPrincipal) and isinstance(whoami_user, User)
    gate_checkpoint = gatekeeper.checkpoint
    assert (principal.id, principal.role, principal.language) == (gatekeeper.id, Role.GATEKEEPER, "en")
    assert principal.checkpoint == CheckpointRow(
        gate_checkpoint.id, gate_checkpoint.ref, CheckpointKind.GATE, gate_checkpoint.code, gate_checkpoint.name,
        gate_checkpoint.district, gate_checkpoint.enterprise_id)
    db.rollback()
    assert db.scalar(sa.select(Scan.staff_user_id).where(Scan.scan_id == body["scan_id"])) == gatekeeper.id

    disable_user(db, db.get(User, gatekeeper.id), clock.now())
    db.commit()
    refused = post_scan(client, headers, token, **CHECKS)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "unauthorised"
    assert count_scans(db) == 1


def test_a_worker_token_on_the_scan_route_is_forbidden_as_before(client, db, vault, programme, keyring, gate):
    _headers, worker, token, _ = gate
    headers = bearer(db, worker.user, clock.now())
    db.commit()
    response = post_scan(client, headers, token, **CHECKS)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"
    assert count_scans(db) == 0


def test_a_bearer_scan_on_sqlite_holds_the_write_lock_for_its_writes_only(app, client, db, gate):
    """Writers take turns on SQLite, so a scan takes the write lock as late as it can: its caller
    is read in a read transaction, the code is judged outside any, and the write transaction
    (BEGIN IMMEDIATE) holds the claim, the worker's look-up and the scan's insert, nothing else.
    A refused token never asks for the write lock. What each request sent, as SQLite saw it."""
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's transaction statements")
    headers, _worker, token, _ = gate

    def kind(statement: str) -> str:
        words = statement.split()
        return " ".join(words[:2]).upper() if words[0].upper() in ("BEGIN", "INSERT") else words[0].upper()

    with statements_sent(db.get_bind()) as sent:
        accepted = post_scan(client, headers, token, **CHECKS)
        scan = [kind(s) for s in sent.take()]
        refused = post_scan(client, {"Authorization": "Bearer wzt_not-a-token"}, token, **CHECKS)
        refusal = [kind(s) for s in sent.take()]
        again = post_scan(client, headers, token, **CHECKS)
    assert accepted.get_json()["result"] == "accepted"
    write = scan.index("BEGIN IMMEDIATE")
    # Before the lock: the caller (and, this first time, the signing keys), read and let go.
    assert scan[0] == "BEGIN DEFERRED" and scan[write - 1] == "COMMIT"
    assert set(scan[1:write - 1]) == {"SELECT"}
    assert scan[write + 1:] == ["SELECT", "INSERT INTO", "INSERT INTO", "COMMIT"]  # the worker; claim, scan
    assert refused.status_code == 401 and "BEGIN IMMEDIATE" not in refusal
    assert again.status_code == 200 and again.get_json()["result"] == "accepted"
    assert count_scans(db) == 2


def test_a_gate_scan_on_postgresql_claims_its_id_in_the_scans_own_insert(app, client, db, gate):
    """The gate's handler only reads, so its scan_id is claimed by the statement that writes the
    scan (one round trip for both); a replay of it writes nothing and answers as the first time.
    What the requests sent, as libpq saw it."""
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL's one-statement claim")
    headers, _worker, token, _ = gate
    with statements_sent(db.get_bind()) as sent:
        first = post_scan(client, headers, token, scan_id="one-statement-1", **CHECKS)
        writes = [" ".join(s.split()[:5]) for s in sent.take() if not s.startswith("SELECT")]
        replay = post_scan(client, headers, token, scan_id="one-statement-1", **CHECKS)
    assert first.get_json()["result"] == "accepted"
    assert writes == ["WITH claim AS (INSERT INTO"]
    assert replay.get_json()["replayed"] is True and replay.get_json()["scan_id"] == "one-statement-1"
    assert count_scans(db) == 1
