"""Fixtures shared by the scanning and welfare tests that run a real gunicorn server."""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass
class SeededDatabase:
    session: object
    vault: object
    programme: object
    keyring: object


@pytest.fixture
def seeded(server_app):
    """The server's database with every table of these rooms, and a session to seed it with.

    ``wzcheckin init`` migrates with the initial migration, which gains this room's tables when
    it is regenerated; until then ``create_all`` adds what is missing (and nothing after).
    """
    from wzcheckin.codes.keys import load_keyring
    from wzcheckin.core import context
    from wzcheckin.extensions import db

    db.create_all()
    return SeededDatabase(db.session, context.vault(), context.programme(), load_keyring(db.session, context.vault()))
