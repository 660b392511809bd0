"""Trust in signing keys (issue 15 item 5): a revoked key's codes are refused at once in every
process (``revoked_key``); a retired key verifies only codes it signed before it retired, and
only until the longest lifetime of that kind of code has passed; a code whose validity is
longer than its kind's maximum (``[codes] max_lifetime_seconds``) is invalid."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.builders import make_worker
from tests.support.clock import at
from wzcheckin.codes import tokens
from wzcheckin.codes.keys import KeyringCache, load_keyring, revoke_signing_key, rotate_signing_key
from wzcheckin.codes.models import SigningKey
from wzcheckin.codes.passes import current_pass, issue_paper_pass
from wzcheckin.codes.tokens import TokenError, TokenKind
from wzcheckin.core.models import AuditEntry
from wzcheckin.programme import ProgrammeError, parse_programme


def test_a_code_living_longer_than_its_kinds_maximum_is_invalid(db, vault, programme):
    keyring = load_keyring(db, vault, programme)
    now = at("2021-02-01 10:00")
    longest = timedelta(seconds=programme.codes.max_lifetime_seconds["pass"])
    subject = "0123456789abcdef"
    just_right = keyring.sign(TokenKind.PASS, subject, now + longest, issued_at=now)
    too_long = keyring.sign(TokenKind.PASS, subject, now + longest + timedelta(seconds=1), issued_at=now)
    assert keyring.verify(just_right, now).subject == subject
    with pytest.raises(TokenError, match="invalid_token"):
        keyring.verify(too_long, now)


def test_every_kind_has_a_maximum_and_it_covers_what_the_programme_issues():
    from wzcheckin.config import DEFAULT_PROGRAMME

    text = DEFAULT_PROGRAMME.read_text(encoding="utf-8")
    shipped = parse_programme(text)
    assert set(shipped.codes.max_lifetime_seconds) == {kind.label for kind in TokenKind}
    with pytest.raises(ProgrammeError, match="pass_ttl_seconds"):
        parse_programme(text.replace("pass = 300,", "pass = 120,"))
    with pytest.raises(ProgrammeError, match="no maximum lifetime for poster"):
        parse_programme(text.replace(", poster = 15552000 }", " }"))


def test_a_retired_key_verifies_its_earlier_codes_only_until_the_kinds_maximum_lifetime(db, vault, programme):
    """A paper pass printed before a rotation still scans after it; once the paper pass's
    maximum lifetime has passed since the rotation, the retired key verifies nothing. (A code
    within its kind's maximum also expires by then: the two rules agree, and either alone holds.)"""
    worker = make_worker(db, vault, programme)
    issued = at("2021-02-01 10:00")
    paper, printed = issue_paper_pass(db, worker, load_keyring(db, vault, programme), programme, issued)
    rotated = issued + timedelta(days=1)
    rotate_signing_key(db, vault, rotated)
    after = load_keyring(db, vault, programme)
    longest = timedelta(seconds=programme.codes.max_lifetime_seconds["paper_pass"])
    assert after.verify(printed.token, rotated + timedelta(days=30)).subject == paper.public_id
    with pytest.raises(TokenError, match="expired"):
        after.verify(printed.token, rotated + longest)


def test_a_retired_key_does_not_verify_a_code_it_signed_after_it_retired(db, vault, programme):
    """A process (or a thief) still holding the old private key cannot mint codes after rotation."""
    worker = make_worker(db, vault, programme)
    now = at("2021-02-01 10:00")
    stale_signer = load_keyring(db, vault, programme)
    before = current_pass(worker, stale_signer, programme, now - timedelta(seconds=5))
    rotate_signing_key(db, vault, now)
    after_rotation = current_pass(worker, stale_signer, programme, now + timedelta(seconds=5))
    fresh = load_keyring(db, vault, programme)
    assert fresh.verify(before.token, now).subject == worker.public_id
    with pytest.raises(TokenError, match="invalid_token"):
        fresh.verify(after_rotation.token, now + timedelta(seconds=6))


def test_a_pass_signed_by_a_revoked_key_is_refused_at_once_in_another_process(db, vault, programme):
    worker = make_worker(db, vault, programme)
    now = at("2021-02-01 10:00")
    other_process = KeyringCache()
    keyring = other_process.get(db, vault, programme)
    token = current_pass(worker, keyring, programme, now).token
    db.commit()
    assert other_process.get(db, vault, programme).verify(token, now).subject == worker.public_id
    revoked, new_key = revoke_signing_key(db, keyring.signing_key_id, now, vault=vault)
    db.commit()
    assert new_key is not None and revoked.revoked_at == now
    # Well inside the cache's minute: the next request's keyring already knows.
    with pytest.raises(TokenError, match="revoked_key"):
        other_process.get(db, vault, programme).verify(token, now)
    assert other_process.get(db, vault, programme).signing_key_id == new_key.key_id


def test_keys_revoke_command_refuses_scans_and_keeps_passes_coming(app, client, db, vault, programme, login_as):
    worker = make_worker(db, vault, programme)
    db.commit()
    login_as(worker.user)
    old_token = client.get("/api/v1/me/pass").get_json()["token"]
    key_id = db.scalar(sa.select(SigningKey.key_id).where(SigningKey.retired_at.is_(None)))
    runner = app.test_cli_runner()
    with app.app_context():
        assert runner.invoke(args=["keys", "revoke", str(key_id)]).exit_code == 2  # --reason required
        outcome = runner.invoke(args=["keys", "revoke", str(key_id), "--reason", "私钥泄露"])
        again = runner.invoke(args=["keys", "revoke", str(key_id), "--reason", "twice"])
        unknown = runner.invoke(args=["keys", "revoke", "7", "--reason", "no such key"])
    answer = json.loads(outcome.stdout.strip().splitlines()[-1])
    assert answer["revoked"] == key_id and answer["signing_key"] not in (None, key_id)
    assert again.exit_code == 1 and unknown.exit_code == 1
    new_token = client.get("/api/v1/me/pass").get_json()["token"]
    with app.app_context():
        from wzcheckin.codes.context import current_keyring

        keyring = current_keyring()
        with pytest.raises(TokenError, match="revoked_key"):
            keyring.verify(old_token, tokens.parse(old_token)[0].issued_at)
        assert keyring.verify(new_token, tokens.parse(new_token)[0].issued_at).subject == worker.public_id
    published = {key["kid"] for key in client.get("/api/v1/keys").get_json()["keys"]}
    assert key_id not in published and answer["signing_key"] in published
    db.rollback()
    entry = db.scalar(sa.select(AuditEntry).where(AuditEntry.action == "keys.revoke"))
    assert entry.details["reason"] == "私钥泄露"
