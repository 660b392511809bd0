"""Signing keys: creation, rotation, and the per-process keyring used to sign and verify.

Private keys are stored encrypted with the personal-data keys, so a database dump alone cannot
forge passes. The keyring is cached per process and refreshed every minute, which is how a
rotation made by one process reaches every gunicorn worker. A token signed by a key the process
has not loaded yet (rotated a moment ago by another process or host) makes it reload at once,
at most once a second, so passes signed with a new key scan everywhere straight away.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session

from wzcheckin.codes import tokens
from wzcheckin.codes.models import SigningKey
from wzcheckin.core.personal_data import PersonalDataVault

KEYRING_TTL_SECONDS = 60
# A forged key id must not make every scan read the keys table: reload at most this often.
UNKNOWN_KEY_RELOAD_SECONDS = 1.0


class NoSigningKey(RuntimeError):
    pass


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


def revoke_signing_key(session: Session, key_id: int, now: datetime) -> None:
    """Stop trusting a key (it leaked): codes it signed are refused from now on."""
    key = session.scalar(sa.select(SigningKey).where(SigningKey.key_id == key_id))
    if key is None:
        raise LookupError(f"no signing key with id {key_id}")
    key.retired_at = key.retired_at or now
    key.revoked_at = now


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
    verify_keys: dict[int, Ed25519PublicKey]
    signing_key_id: int | None
    signing_key: Ed25519PrivateKey | None
    # Set by KeyringCache: a fresher keyring when a token names a key id this one lacks.
    reload_for_unknown_key: Callable[[], Keyring | None] | None = None

    def sign(self, kind: tokens.TokenKind, subject: str, expires_at: datetime, *, issued_at: datetime) -> str:
        if self.signing_key is None or self.signing_key_id is None:
            raise NoSigningKey("no signing key: run `wzcheckin init`")
        return tokens.sign(self.signing_key, self.signing_key_id, kind, subject, expires_at, issued_at=issued_at)

    def verify(self, token: str, at: datetime) -> tokens.Claims:
        try:
            return tokens.verify(token, self.verify_keys, at)
        except tokens.TokenError as exc:
            if exc.reason != "unknown_key" or self.reload_for_unknown_key is None:
                raise
            fresh = self.reload_for_unknown_key()
            if fresh is None:
                raise
            return tokens.verify(token, fresh.verify_keys, at)


def load_keyring(session: Session, vault: PersonalDataVault) -> Keyring:
    rows = session.scalars(
        sa.select(SigningKey).where(SigningKey.revoked_at.is_(None)).order_by(SigningKey.created_at)
    ).all()
    verify_keys = {row.key_id: Ed25519PublicKey.from_public_bytes(row.public_key) for row in rows}
    signing = [row for row in rows if row.retired_at is None]
    if not signing:
        return Keyring(verify_keys, None, None)
    current = signing[-1]
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vault.decrypt(current.private_key_encrypted)))
    return Keyring(verify_keys, current.key_id, private)


class KeyringCache:
    """One keyring per process, reloaded after ``ttl`` seconds, on demand, or (at most once a
    second) when a token names a key it does not have."""

    def __init__(self, ttl: float = KEYRING_TTL_SECONDS, unknown_key_reload: float = UNKNOWN_KEY_RELOAD_SECONDS):
        self._ttl = ttl
        self._unknown_key_reload = unknown_key_reload
        self._lock = threading.Lock()
        self._keyring: Keyring | None = None
        self._loaded_at = 0.0

    def get(self, session: Session, vault: PersonalDataVault) -> Keyring:
        if self._keyring is None or time.monotonic() - self._loaded_at > self._ttl:
            with self._lock:
                if self._keyring is None or time.monotonic() - self._loaded_at > self._ttl:
                    self._load(session, vault)
        return self._keyring

    def _load(self, session: Session, vault: PersonalDataVault) -> Keyring:
        # The reload reads through its own short session on the same engine: the keyring
        # outlives the request whose session loaded it.
        bind = session.get_bind()
        self._keyring = replace(load_keyring(session, vault),
                                reload_for_unknown_key=lambda: self._reload_for_unknown_key(bind, vault))
        self._loaded_at = time.monotonic()
        return self._keyring

    def _reload_for_unknown_key(self, bind, vault: PersonalDataVault) -> Keyring | None:
        with self._lock:
            if time.monotonic() - self._loaded_at < self._unknown_key_reload:
                return None
            with Session(bind) as session:
                return self._load(session, vault)

    def invalidate(self) -> None:
        with self._lock:
            self._keyring = None


def new_public_id() -> str:
    """An opaque 8-byte subject id (16 hex characters) for passes and reservations."""
    return secrets.token_hex(8)
