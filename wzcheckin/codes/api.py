"""Codes room, API: public keys for offline verification, and the worker's current pass."""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from flask import jsonify

from wzcheckin import clock
from wzcheckin.api import api_route
from wzcheckin.api.shapes import Instant, Shape
from wzcheckin.codes.context import current_keyring
from wzcheckin.codes.keys import public_key_record
from wzcheckin.codes.models import SigningKey
from wzcheckin.codes.passes import current_pass
from wzcheckin.codes.tokens import TOKEN_LENGTH, TokenKind
from wzcheckin.core import context
from wzcheckin.core.auth import current_worker
from wzcheckin.core.roles import Role
from wzcheckin.extensions import db


class PublicKey(Shape):
    kid: int
    alg: Literal["Ed25519"]
    public_key: str  # base64url, no padding
    created_at: Instant
    signing: bool


class TokenFormat(Shape):
    encoding: str
    length: int
    version: int
    layout: str
    kinds: dict[str, int]


class PublicKeys(Shape):
    keys: list[PublicKey]
    token_format: TokenFormat


class PassOut(Shape):
    token: str
    expires_at: Instant


@api_route("/keys", methods=["GET"], roles=None, tag="codes",
           summary="Public Ed25519 keys for verifying codes offline", responses={200: PublicKeys})
def public_keys():
    keys = db.session.scalars(
        sa.select(SigningKey).where(SigningKey.revoked_at.is_(None)).order_by(SigningKey.created_at)
    ).all()
    response = jsonify({
        "keys": [public_key_record(key) for key in keys],
        "token_format": {
            "encoding": "base32 (RFC 4648, no padding)",
            "length": TOKEN_LENGTH,
            "version": 2,
            "layout": "version u8 | kind u8 | kid u32 | subject 8 bytes | issued u32 unix | expires u32 unix"
                      " | Ed25519 signature 64 bytes over the first 22",
            "kinds": {kind.label: int(kind) for kind in TokenKind},
        },
    })
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@api_route("/me/pass", methods=["GET"], roles=(Role.WORKER,), tag="worker",
           summary="The worker's current rotating pass", responses={200: PassOut})
def my_pass():
    issued = current_pass(current_worker(), current_keyring(), context.programme(), clock.now())
    return jsonify({"token": issued.token, "expires_at": issued.expires_at.isoformat()})
