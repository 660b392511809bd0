"""Codes room: the app's keyring, for the outer layer (views, API, command line) to hand to domain
functions. (Core's ``context`` holds the programme and the vault; the keyring is this room's.)"""

from __future__ import annotations

from flask import current_app, g

from wzcheckin.codes.keys import Keyring
from wzcheckin.core import context
from wzcheckin.extensions import db


def current_keyring() -> Keyring:
    # A bearer request has read the keys' fingerprint with its token (accounts.auth; the app factory
    # asks for keys_fingerprint_columns there): no query of its own here.
    values = g.get("bearer_extra_values")
    return current_app.extensions["wzcheckin.keyring"].get(db.session, context.vault(), context.programme(),
                                                           fingerprint=values or None)


def invalidate_keyring() -> None:
    current_app.extensions["wzcheckin.keyring"].invalidate()
