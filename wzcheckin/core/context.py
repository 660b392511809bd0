"""Accessors for the per-app singletons the outer layer hands to domain functions."""

from __future__ import annotations

from flask import current_app, g

from wzcheckin.codes.keys import Keyring
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.programme import Programme


def programme() -> Programme:
    return current_app.extensions["wzcheckin.programme"]


def vault() -> PersonalDataVault:
    return current_app.extensions["wzcheckin.vault"]


def keyring() -> Keyring:
    from wzcheckin.extensions import db

    # A bearer request read the keys' fingerprint with its token (core.auth): no query here.
    return current_app.extensions["wzcheckin.keyring"].get(db.session, vault(), programme(),
                                                           fingerprint=g.get("keys_fingerprint"))


def invalidate_keyring() -> None:
    current_app.extensions["wzcheckin.keyring"].invalidate()
