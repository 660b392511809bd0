"""Core: the opaque public ids that stand for a row in codes, URLs and pages (never a row id, an ID
number or a phone: SPEC §5)."""

from __future__ import annotations

import secrets


def new_public_id() -> str:
    """An opaque 8-byte subject id (16 hex characters) for passes, reservations, activities, photos."""
    return secrets.token_hex(8)
