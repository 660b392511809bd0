"""Accessors for the per-app singletons the outer layer hands to domain functions (the keyring is
the codes room's: ``codes.context``)."""

from __future__ import annotations

from flask import current_app

from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.programme import Programme


def programme() -> Programme:
    return current_app.extensions["wzcheckin.programme"]


def vault() -> PersonalDataVault:
    return current_app.extensions["wzcheckin.vault"]
