"""Signing keys: creation, rotation, revocation, and the per-process keyring used to sign and
verify.

Private keys are stored encrypted with the personal-data keys, so a database dump alone cannot
forge passes. The keyring is cached per process; each time a request takes it, one small query
reads the keys table's fingerprint (how many keys, how many retired, how many revoked), so a
rotation or a revocation made by any process reaches every gunicorn worker at its next request.
A token signed by a key the process has not loaded yet (rotated a moment ago by another process
or host) makes it reload at once, at most once a second, so passes signed with a new key scan
everywhere straight away.

Trust in a code (SPEC §4, issue 15): a **revoked** key's codes are refused (``revoked_key``); a
**retired** (rotated-out) key verifies only codes it signed before it retired, and only until the
longest lifetime of that kind of code (``[codes] max_lifetime_seconds``) has passed since; and a
code whose validity (expiry less issue time) is longer than its kind's maximum is invalid.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session

from wzcheckin.codes import tokens
from wzcheckin.codes.errors import CodesRefusal
from wzcheckin.codes.models import SigningKey
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.programme import CodesSection

KEYRING_TTL_SECONDS = 60
# A forged key id must not make every scan read the keys table: reload at most this often.
UNKNOWN_KEY_RELOAD_SECONDS = 1.0


class NoSigningKey(RuntimeError):
    pass


class SigningKeyError(CodesRefusal):
    """A refused key operation: ``key_unknown``, ``already_revoked``."""


def max_lifetimes(programme=None) -> dict[tokens.TokenKind, timedelta]:
    """Each code kind's longest allowed validity, from the programme (its defaults without one)."""
    section = programme.codes if programme is not None else CodesSection()
    return {kind: timedelta(seconds=section.max_lifetime_seconds[kind.label]) for kind in tokens.TokenKind}


def create_signing_key(session: Session, vault: PersonalDataVault, now: datetime) -> SigningKey:
    """Generate a new key; it becomes the signing key, earlier keys keep verifying."""
    private_key = Ed25519PrivateKey.generate()
    raw_private = private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    raw_public = private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    existing = set(session.scalars(sa.select(SigningKey.key_id)))
    key_id = secrets.randbelow(2**32 - 1) + 1
    while key_id in existing:
        key_id = secrets.randbelow(2**32 - 1) + 1
    key = SigningKey(
        key_id=key_id,
        public_key=raw_public,
        private_key_encrypted=vault.encrypt(raw_private.hex()),
        created_at=now,
    )
    session.add(key)
    session.flush()
    return key


def rotate_signing_key(session: Session, vault: PersonalDataVault, now: datetime) -> SigningKey:
    """Retire the current signing keys (they still verify) and create a new one."""
    session.execute(
        sa.update(SigningKey).where(SigningKey.retired_at.is_(None)).values(retired_at=now)
    )
    return create_signing_key(session, vault, now)


def revoke_signing_key(session: Session, key_id: int, now: datetime, *,
                       vault: PersonalDataVault | None = None) -> tuple[SigningKey, SigningKey | None]:
    """Stop trusting a key (it leaked): codes it signed are refused from now on (``revoked_key``).
    When it was the signing key and a ``vault`` is given, a new signing key is made so passes
    keep being issued. Returns (the revoked key, the new signing key or None)."""
    key = session.scalar(sa.select(SigningKey).where(SigningKey.key_id == key_id))
    if key is None:
        raise SigningKeyError("key_unknown")
    if key.revoked_at is not None:
        raise SigningKeyError("already_revoked")
    was_signing = key.retired_at is None
    key.retired_at = key.retired_at or now
    key.revoked_at = now
    session.flush()
    new_key = None
    if was_signing and vault is not None:
        still_signing = session.scalar(sa.select(SigningKey.id).where(SigningKey.retired_at.is_(None)))
        if still_signing is None:
            new_key = create_signing_key(session, vault, now)
    return key, new_key


def _fingerprint_aggregates():
    return (sa.func.count(SigningKey.id), sa.func.count(SigningKey.retired_at),
            sa.func.count(SigningKey.revoked_at), sa.func.max(SigningKey.key_id))


def keys_fingerprint(session: Session) -> tuple:
    """What changes whenever a key is made, retired or revoked: one aggregate over a table of a
    handful of rows."""
    return tuple(session.execute(sa.select(*_fingerprint_aggregates())).one())


_FINGERPRINT_COLUMNS = tuple(
    sa.select(aggregate).scalar_subquery().label(f"keys_fingerprint_{n}")
    for n, aggregate in enumerate(_fingerprint_aggregates())
)


def keys_fingerprint_columns() -> tuple:
    """The fingerprint as scalar subqueries, to read in another query's round trip (the bearer
    token's): their values, in order, are what :func:`keys_fingerprint` returns."""
    return _FINGERPRINT_COLUMNS


def public_key_record(key: SigningKey) -> dict:
    import base64

    return {
        "kid": key.key_id,
        "alg": "Ed25519",
        "public_key": base64.urlsafe_b64encode(key.public_key).decode("ascii").rstrip("="),
        "created_at": key.created_at.isoformat(),
        "signing": key.retired_at is None,
    }


@dataclass(frozen=True)
class Keyring:
    verify_keys: dict[int, Ed25519PublicKey]   # every key that is not revoked
    signing_key_id: int | None
    signing_key: Ed25519PrivateKey | None
    # Set by KeyringCache: a fresher keyring when a token names a key id this one lacks.
    reload_for_unknown_key: Callable[[], Keyring | None] | None = None
    retired_at: dict[int, datetime] = field(default_factory=dict)
    revoked_key_ids: frozenset[int] = frozenset()
    lifetimes: dict[tokens.TokenKind, timedelta] = field(default_factory=max_lifetimes)
    fingerprint: tuple = ()

    def sign(self, kind: tokens.TokenKind, subject: str, expires_at: datetime, *, issued_at: datetime) -> str:
        if self.signing_key is None or self.signing_key_id is None:
            raise NoSigningKey("no signing key: run `wzcheckin init`")
        return tokens.sign(self.signing_key, self.signing_key_id, kind, subject, expires_at, issued_at=issued_at)

    def verify(self, token: str, at: datetime) -> tokens.Claims:
        """The claims of a code scanned at ``at``; raises :class:`tokens.TokenError` with
        ``invalid_token``, ``expired``, ``unknown_key`` or ``revoked_key``."""
        try:
            return self._verify(token, at)
        except tokens.TokenError as exc:
            if exc.reason != "unknown_key" or self.reload_for_unknown_key is None:
                raise
            fresh = self.reload_for_unknown_key()
            if fresh is None:
                raise
            return fresh._verify(token, at)

    def _verify(self, token: str, at: datetime) -> tokens.Claims:
        claims, signed, signature = tokens.parse(token)
        if claims.key_id in self.revoked_key_ids:
            raise tokens.TokenError("revoked_key")
        claims = tokens.verify_parsed(claims, signed, signature, self.verify_keys, at)
        lifetime = self.lifetimes[claims.kind]
        if claims.expires_at - claims.issued_at > lifetime:
            raise tokens.TokenError("invalid_token")  # longer-lived than its kind may be
        retired_at = self.retired_at.get(claims.key_id)
        if retired_at is not None:
            if claims.issued_at > retired_at:  # codes carry whole seconds
                raise tokens.TokenError("invalid_token")  # signed after its key was rotated out
            if at >= retired_at + lifetime:
                raise tokens.TokenError("expired")
        return claims


def load_keyring(session: Session, vault: PersonalDataVault, programme=None, *, fingerprint=None) -> Keyring:
    """Every key's state as now stored; the code lifetimes from ``programme`` (its defaults
    without one). ``fingerprint``: the keys table's, when the caller has just read it."""
    fingerprint = keys_fingerprint(session) if fingerprint is None else fingerprint
    all_rows = session.scalars(sa.select(SigningKey).order_by(SigningKey.created_at, SigningKey.id)).all()
    rows = [row for row in all_rows if row.revoked_at is None]
    verify_keys = {row.key_id: Ed25519PublicKey.from_public_bytes(row.public_key) for row in rows}
    states = {
        "retired_at": {row.key_id: row.retired_at for row in rows if row.retired_at is not None},
        "revoked_key_ids": frozenset(row.key_id for row in all_rows if row.revoked_at is not None),
        "lifetimes": max_lifetimes(programme),
        "fingerprint": fingerprint,
    }
    signing = [row for row in rows if row.retired_at is None]
    if not signing:
        return Keyring(verify_keys, None, None, **states)
    current = signing[-1]
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vault.decrypt(current.private_key_encrypted)))
    return Keyring(verify_keys, current.key_id, private, **states)


class KeyringCache:
    """One keyring per process, reloaded after ``ttl`` seconds, on demand, whenever the keys
    table's fingerprint changed (a key made, retired or revoked by any process), or (at most once
    a second) when a token names a key it does not have."""

    def __init__(self, ttl: float = KEYRING_TTL_SECONDS, unknown_key_reload: float = UNKNOWN_KEY_RELOAD_SECONDS):
        self._ttl = ttl
        self._unknown_key_reload = unknown_key_reload
        self._lock = threading.Lock()
        self._keyring: Keyring | None = None
        self._loaded_at = 0.0

    def get(self, session: Session, vault: PersonalDataVault, programme=None, *,
            fingerprint: tuple | None = None) -> Keyring:
        """``fingerprint``: the keys table's, when this request has already read it (with its
        bearer token); otherwise it is read here."""
        keyring = self._keyring
        stale = keyring is None or time.monotonic() - self._loaded_at > self._ttl
        if stale:
            fingerprint = None  # re-read with the keys themselves
        else:
            # A revocation must hold at once in every process: compare the cached keyring with
            # the table (one aggregate over a few rows) before trusting it.
            fingerprint = keys_fingerprint(session) if fingerprint is None else tuple(fingerprint)
            stale = fingerprint != keyring.fingerprint
        if stale:
            with self._lock:
                if self._keyring is keyring:  # not reloaded meanwhile by a thread that held the lock
                    self._load(session, vault, programme, fingerprint=fingerprint)
        return self._keyring

    def _load(self, session: Session, vault: PersonalDataVault, programme=None, *, fingerprint=None) -> Keyring:
        # The reload reads through its own short session on the same engine: the keyring
        # outlives the request whose session loaded it.
        bind = session.get_bind()
        self._keyring = replace(load_keyring(session, vault, programme, fingerprint=fingerprint),
                                reload_for_unknown_key=lambda: self._reload_for_unknown_key(bind, vault, programme))
        self._loaded_at = time.monotonic()
        return self._keyring

    def _reload_for_unknown_key(self, bind, vault: PersonalDataVault, programme=None) -> Keyring | None:
        with self._lock:
            if time.monotonic() - self._loaded_at < self._unknown_key_reload:
                return None
            with Session(bind) as session:
                return self._load(session, vault, programme)

    def invalidate(self) -> None:
        with self._lock:
            self._keyring = None
