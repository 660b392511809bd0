"""The worker pass: rotating phone pass, paper pass, public keys, key rotation."""

import base64
import re
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tests.builders import make_enterprise, make_user, make_worker
from tests.support.clock import at
from wzcheckin.clock import SimulatedClock
from wzcheckin.codes import tokens
from wzcheckin.codes.keys import KeyringCache, load_keyring, revoke_signing_key, rotate_signing_key
from wzcheckin.codes.passes import PassRefused, current_pass, issue_paper_pass, resolve_pass
from wzcheckin.codes.tokens import TokenError, TokenKind
from wzcheckin.core.roles import Role


def public_keys_from(client):
    body = client.get("/api/v1/keys").get_json()
    return {k["kid"]: Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(k["public_key"] + "=="))
            for k in body["keys"]}


def test_api_pass_verifies_with_the_published_keys(client, db, vault, programme, login_as):
    worker = make_worker(db, vault, programme)
    db.commit()
    login_as(worker.user)
    body = client.get("/api/v1/me/pass").get_json()
    from datetime import datetime

    expires_at = datetime.fromisoformat(body["expires_at"])
    claims = tokens.verify(body["token"], public_keys_from(client), expires_at - timedelta(seconds=1))
    assert claims.kind is TokenKind.PASS and claims.subject == worker.public_id
    with pytest.raises(TokenError, match="expired"):
        tokens.verify(body["token"], public_keys_from(client), datetime.fromisoformat(body["expires_at"]))


def test_pass_rotates_on_refresh(app, client, db, vault, programme, login_as, tmp_path):
    # A pass signed in the same second is the same token (Ed25519 is deterministic and the expiry
    # is in whole seconds), so the app runs on a simulated clock that the test moves on.
    worker = make_worker(db, vault, programme)
    db.commit()
    login_as(worker.user)
    clock, start = SimulatedClock(tmp_path / "clock"), datetime.now(UTC).replace(microsecond=0)
    original, app.extensions["wzcheckin.clock"] = app.extensions["wzcheckin.clock"], clock
    try:
        clock.set(start)
        first = client.get("/me/pass/refresh").get_json()
        clock.set(start + timedelta(seconds=30))
        page = client.get("/me/pass").text
        clock.set(start + timedelta(seconds=60))
        second = client.get("/me/pass/refresh").get_json()
    finally:
        app.extensions["wzcheckin.clock"] = original
    on_page = re.search(r'<output id="pass-token"[^>]*>([^<]+)</output>', page).group(1)
    assert first["token"] not in page and on_page not in (first["token"], second["token"])  # each render signs anew
    assert second["token"] != first["token"]
    keys = public_keys_from(client)
    assert {tokens.verify(t, keys, start).subject for t in (first["token"], on_page, second["token"])} == {
        worker.public_id}
    assert first["svg"].startswith("<svg") and "<script" not in first["svg"]
    assert first["ttl_seconds"] == programme.programme.pass_ttl_seconds
    ttl = timedelta(seconds=programme.programme.pass_ttl_seconds)
    assert datetime.fromisoformat(first["expires_at"]) == start + ttl
    assert datetime.fromisoformat(second["expires_at"]) == start + timedelta(seconds=60) + ttl


def test_pass_endpoints_are_for_workers_only(client, db, vault, login_as):
    official = make_user(db, vault, Role.OFFICIAL)
    login_as(official)
    assert client.get("/api/v1/me/pass").status_code == 403
    assert client.get("/api/v1/me/pass").get_json()["error"]["code"] == "forbidden"


def test_paper_pass_is_long_lived_and_revocable(db, vault, programme):
    worker = make_worker(db, vault, programme)
    keyring = load_keyring(db, vault)
    now = at("2021-01-25 10:00")
    _paper, issued = issue_paper_pass(db, worker, keyring, programme, now)
    claims = keyring.verify(issued.token, now + timedelta(days=programme.programme.paper_pass_valid_days - 1))
    assert resolve_pass(db, claims).id == worker.id
    # Issuing a new paper pass revokes the old one.
    _new_paper, new_issued = issue_paper_pass(db, worker, keyring, programme, now + timedelta(days=1))
    with pytest.raises(PassRefused, match="revoked"):
        resolve_pass(db, keyring.verify(issued.token, now + timedelta(days=2)))
    assert resolve_pass(db, keyring.verify(new_issued.token, now + timedelta(days=2))).id == worker.id


def test_disabled_accounts_passes_are_refused(db, vault, programme):
    from wzcheckin.accounts.sessions import disable_user

    worker = make_worker(db, vault, programme)
    keyring = load_keyring(db, vault)
    now = at("2021-02-01 10:00")
    issued = current_pass(worker, keyring, programme, now)
    disable_user(db, worker.user, now)
    with pytest.raises(PassRefused, match="revoked"):
        resolve_pass(db, keyring.verify(issued.token, now))


def test_rotation_keeps_old_codes_valid_and_revocation_kills_them(db, vault, programme):
    worker = make_worker(db, vault, programme)
    now = at("2021-02-01 10:00")
    old_keyring = load_keyring(db, vault)
    old_token = current_pass(worker, old_keyring, programme, now).token
    rotate_signing_key(db, vault, now)
    new_keyring = load_keyring(db, vault)
    assert new_keyring.signing_key_id != old_keyring.signing_key_id
    assert new_keyring.verify(old_token, now).subject == worker.public_id
    revoke_signing_key(db, old_keyring.signing_key_id, now)
    with pytest.raises(TokenError, match="revoked_key"):
        load_keyring(db, vault).verify(old_token, now)


def test_keys_endpoint_is_public_and_cacheable(client, db):
    response = client.get("/api/v1/keys")
    assert response.status_code == 200
    body = response.get_json()
    assert body["keys"][0]["alg"] == "Ed25519" and body["token_format"]["length"] == 138
    assert "max-age" in response.headers["Cache-Control"]


def test_private_keys_are_stored_encrypted(db, vault):
    from sqlalchemy import select

    from wzcheckin.codes.models import SigningKey

    key = db.scalar(select(SigningKey))
    assert len(key.private_key_encrypted) > 64 and not all(c in "0123456789abcdef" for c in key.private_key_encrypted)


def test_a_key_rotated_by_another_process_verifies_at_once(db, vault, programme):
    """Two gunicorn workers (or hosts): one rotates and signs with the new key; the other, whose
    keyring is younger than its one-minute refresh, reloads on the unknown key id — but no more
    than once a second, so forged key ids cannot turn every scan into a keys-table read."""
    worker = make_worker(db, vault, programme)
    now = at("2021-02-01 10:00")
    this_process = KeyringCache(unknown_key_reload=0)
    cautious_process = KeyringCache(unknown_key_reload=3600)
    stale = this_process.get(db, vault)
    stale_too = cautious_process.get(db, vault)
    db.commit()
    rotate_signing_key(db, vault, now)
    db.commit()
    new_token = current_pass(worker, KeyringCache().get(db, vault), programme, now).token

    assert stale.verify(new_token, now).subject == worker.public_id
    assert this_process.get(db, vault).signing_key_id != stale.signing_key_id  # the reload is kept
    with pytest.raises(TokenError, match="unknown_key"):  # reloaded under a second ago: refused
        stale_too.verify(new_token, now)
    # Taking the keyring again (the next request) reads the table's fingerprint: the new key is there.
    assert cautious_process.get(db, vault).signing_key_id != stale_too.signing_key_id


def test_the_pass_holder_row_resolves_and_refuses_as_resolve_pass_does(db, vault, programme):
    """resolve_pass_holder (one Core row, the gate's hot path) against resolve_pass (the ORM
    worker): the same worker's values, the same refusals."""
    from wzcheckin.accounts.sessions import disable_user
    from wzcheckin.codes.passes import PassHolder, resolve_pass_holder
    from wzcheckin.codes.tokens import Claims

    enterprise = make_enterprise(db, vault)
    employed, loose = make_worker(db, vault, programme, enterprise=enterprise), make_worker(db, vault, programme)
    keyring = load_keyring(db, vault)
    now = at("2021-02-01 10:00")
    for worker in (employed, loose):
        claims = keyring.verify(current_pass(worker, keyring, programme, now).token, now)
        orm = resolve_pass(db, claims)
        assert resolve_pass_holder(db, claims) == PassHolder(
            orm.id, orm.name, orm.enterprise_id, orm.enterprise.name if orm.enterprise else None, orm.created_at)
    assert resolve_pass_holder(db, claims).enterprise_name is None
    assert resolve_pass_holder(db, keyring.verify(current_pass(employed, keyring, programme, now).token, now)
                               ).enterprise_name == enterprise.name

    _paper, old = issue_paper_pass(db, employed, keyring, programme, now)
    _paper, new = issue_paper_pass(db, employed, keyring, programme, now + timedelta(minutes=1))
    later = now + timedelta(minutes=2)
    assert resolve_pass_holder(db, keyring.verify(new.token, later)).id == employed.id
    unknown = Claims(kind=TokenKind.PASS, key_id=0, subject="nobody-at-all", issued_at=now, expires_at=later)
    wrong = Claims(kind=TokenKind.RESERVATION, key_id=0, subject=employed.public_id, issued_at=now, expires_at=later)
    paper_unknown = Claims(kind=TokenKind.PAPER_PASS, key_id=0, subject="nobody-at-all", issued_at=now, expires_at=later)
    cases = [(keyring.verify(old.token, later), "revoked"), (unknown, "invalid_token"), (wrong, "wrong_kind"),
             (paper_unknown, "invalid_token")]
    disable_user(db, employed.user, later)
    cases.append((keyring.verify(new.token, later), "revoked"))
    cases.append((keyring.verify(current_pass(employed, keyring, programme, later).token, later), "revoked"))
    for claims, code in cases:
        for resolve in (resolve_pass, resolve_pass_holder):
            with pytest.raises(PassRefused) as refused:
                resolve(db, claims)
            assert refused.value.code == code, (resolve.__name__, claims.kind, code)
