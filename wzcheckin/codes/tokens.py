"""Signed codes (SPEC §4): compact Ed25519-signed tokens for QR codes.

Layout (86 bytes, base32 without padding → 138 characters of A–Z2–7, which QR encodes in its
dense alphanumeric mode):

    version  u8      2
    kind     u8      TokenKind
    key_id   u32     which signing key (published at /api/v1/keys)
    subject  8 B     opaque id: a worker's public_id, a paper pass, a reservation ...
    issued   u32     Unix seconds: when the code was made (a scan before it is no evidence)
    expires  u32     Unix seconds
    sig      64 B    Ed25519 over the 22 bytes above

A token carries no ID or phone number. Verification needs only the public keys, so a scanner
can check it offline; state (revocation, single use) is checked by the server.
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from wzcheckin.codes.errors import CodesRefusal

VERSION = 2
_HEADER = struct.Struct(">BBI8sII")
SIGNED_LENGTH = _HEADER.size  # 22
SIGNATURE_LENGTH = 64
TOKEN_BYTES = SIGNED_LENGTH + SIGNATURE_LENGTH
TOKEN_LENGTH = 138  # characters
MAX_INPUT_LENGTH = 256  # refuse anything longer before decoding


class TokenKind(IntEnum):
    PASS = 1          # the worker's rotating phone pass (个人通行码)
    PAPER_PASS = 2    # printed, long-lived, revocable
    RESERVATION = 3   # one booking, single use
    POSTER = 4        # a landmark / activity poster a worker scans with their own phone

    @property
    def label(self) -> str:
        return self.name.lower()


class TokenError(CodesRefusal):
    """Why a token was refused (``code``): ``invalid_token``, ``expired``, ``unknown_key`` or
    ``revoked_key``. A code that cannot be used is unprocessable input (422)."""

    status = 422

    @property
    def reason(self) -> str:
        """The code, under the name a scan gives it (a scan's ``reason``)."""
        return self.code


@dataclass(frozen=True)
class Claims:
    kind: TokenKind
    key_id: int
    subject: str  # 16 lower-case hex characters
    issued_at: datetime
    expires_at: datetime


def _encode(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=")


def _decode(text: str) -> bytes:
    padding = "=" * (-len(text) % 8)
    return base64.b32decode(text + padding, casefold=False)


def sign(private_key: Ed25519PrivateKey, key_id: int, kind: TokenKind, subject: str,
         expires_at: datetime, *, issued_at: datetime) -> str:
    subject_bytes = bytes.fromhex(subject)
    if len(subject_bytes) != 8:
        raise ValueError("a subject is 8 bytes (16 hex characters)")
    # Whole seconds: issued rounds down and expires up never widen the validity a caller asked for.
    issued, expires = int(issued_at.timestamp()), int(expires_at.timestamp())
    if expires <= issued:
        raise ValueError("a code must expire after it is issued")
    header = _HEADER.pack(VERSION, int(kind), key_id, subject_bytes, issued, expires)
    return _encode(header + private_key.sign(header))


def parse(token: str) -> tuple[Claims, bytes, bytes]:
    """Decode without verifying: (claims, signed bytes, signature). Raises ``invalid_token``."""
    if not isinstance(token, str) or len(token) > MAX_INPUT_LENGTH:
        raise TokenError("invalid_token")
    text = token.strip().upper()
    if len(text) != TOKEN_LENGTH:
        raise TokenError("invalid_token")
    try:
        raw = _decode(text)
    except (binascii.Error, ValueError):
        raise TokenError("invalid_token") from None
    # The last base32 character carries 4 unused bits: accept only the canonical spelling, so
    # every code has exactly one text (an altered character never passes as the same code).
    if len(raw) != TOKEN_BYTES or _encode(raw) != text:
        raise TokenError("invalid_token")
    signed, signature = raw[:SIGNED_LENGTH], raw[SIGNED_LENGTH:]
    version, kind, key_id, subject, issued, expires = _HEADER.unpack(signed)
    if version != VERSION or expires <= issued:
        raise TokenError("invalid_token")
    try:
        token_kind = TokenKind(kind)
    except ValueError:
        raise TokenError("invalid_token") from None
    claims = Claims(token_kind, key_id, subject.hex(), datetime.fromtimestamp(issued, UTC),
                    datetime.fromtimestamp(expires, UTC))
    return claims, signed, signature


def verify(token: str, public_keys: dict[int, Ed25519PublicKey], at: datetime) -> Claims:
    """Check signature and expiry as of ``at`` (the moment the code was scanned)."""
    return verify_parsed(*parse(token), public_keys, at)


def verify_parsed(claims: Claims, signed: bytes, signature: bytes, public_keys: dict[int, Ed25519PublicKey],
                  at: datetime) -> Claims:
    """:func:`verify` of what :func:`parse` returned, for a caller that has parsed the token
    already (the keyring, which looks at the key id first): a token is decoded once."""
    public_key = public_keys.get(claims.key_id)
    if public_key is None:
        raise TokenError("unknown_key")
    try:
        public_key.verify(signature, signed)
    except InvalidSignature:
        raise TokenError("invalid_token") from None
    if at >= claims.expires_at:
        raise TokenError("expired")
    return claims
