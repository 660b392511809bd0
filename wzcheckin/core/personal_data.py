"""Personal data at rest (PIPL / GB/T 35273): ID and phone numbers are stored encrypted
(Fernet: AES-128-CBC + HMAC-SHA256, from ``cryptography``) next to a keyed hash (HMAC-SHA256)
used for look-up and uniqueness. Neither the ciphertext nor the hash reveals the number without
the keys, which come from the environment only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from wzcheckin.config import ConfigError


class PersonalDataVault:
    def __init__(self, data_keys: str, lookup_key: str):
        keys = [key.strip() for key in data_keys.split(",") if key.strip()]
        if not keys:
            raise ConfigError("WZCHECKIN_DATA_KEYS holds no key")
        try:
            self._primary = Fernet(keys[0])
            self._fernet = MultiFernet([self._primary, *(Fernet(key) for key in keys[1:])])
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                "WZCHECKIN_DATA_KEYS must be comma-separated Fernet keys (32 url-safe base64 bytes; "
                "make one with `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`)"
            ) from exc
        if len(lookup_key) < 32:
            raise ConfigError("WZCHECKIN_LOOKUP_KEY must be at least 32 characters")
        self._lookup_key = lookup_key.encode()

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except InvalidToken as exc:
            raise ValueError("ciphertext cannot be decrypted with the configured data keys") from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt under the first (current) key."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")

    def is_current(self, token: str) -> bool:
        """True when the first key alone decrypts ``token``: the older keys are not needed for it."""
        try:
            self._primary.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError):
            return False
        return True

    def lookup_hash(self, kind: str, value: str) -> str:
        """Keyed hash of a normalised identifier; ``kind`` keeps ID and phone hashes apart."""
        digest = hmac.new(self._lookup_key, f"{kind}:{value}".encode(), hashlib.sha256).digest()
        return base64.b32encode(digest).decode("ascii").rstrip("=").lower()
