"""Signing keys: creation, rotation, and the per-process keyring used to sign and verify.

Private keys are stored encrypted with the personal-data keys, so a database dump alone cannot
forge passes. The keyring is cached per process and refreshed every minute, which is how a
rotation made by one process reaches every gunicorn worker.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.orm import Session

from wzcheckin.codes import tokens
from wzcheckin.codes.models import SigningKey
from wzcheckin.core.personal_data import PersonalDataVault

KEYRING_TTL_SECONDS = 60


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

    def sign(self, kind: tokens.TokenKind, subject: str, expires_at: datetime) -> str:
        if self.signing_key is None or self.signing_key_id is None:
            raise NoSigningKey("no signing key: run `wzcheckin init`")
        return tokens.sign(self.signing_key, self.signing_key_id, kind, subject, expires_at)

    def verify(self, token: str, at: datetime) -> tokens.Claims:
        return tokens.verify(token, self.verify_keys, at)


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
    """One keyring per process, reloaded after ``ttl`` seconds or on demand."""

    def __init__(self, ttl: float = KEYRING_TTL_SECONDS):
        self._ttl = ttl
        self._lock = threading.Lock()
        self._keyring: Keyring | None = None
        self._loaded_at = 0.0

    def get(self, session: Session, vault: PersonalDataVault) -> Keyring:
        if self._keyring is None or time.monotonic() - self._loaded_at > self._ttl:
            with self._lock:
                if self._keyring is None or time.monotonic() - self._loaded_at > self._ttl:
                    self._keyring = load_keyring(session, vault)
                    self._loaded_at = time.monotonic()
        return self._keyring

    def invalidate(self) -> None:
        with self._lock:
            self._keyring = None


def new_public_id() -> str:
    """An opaque 8-byte subject id (16 hex characters) for passes and reservations."""
    return secrets.token_hex(8)
