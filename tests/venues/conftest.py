"""Fixtures of the venues room."""

from __future__ import annotations

import pytest
import sqlalchemy as sa


@pytest.fixture
def programme_file(app):
    """Run the test under a programme file edited from the shipped one:
    ``programme_file(("[venues.discounts]\n", "[venues.discounts]\njiangxinyu = 30\n"))``."""
    from pathlib import Path

    from wzcheckin.config import DEFAULT_PROGRAMME
    from wzcheckin.programme import parse_programme

    original = app.extensions["wzcheckin.programme"]

    def use(*edits: tuple[str, str]):
        text = Path(DEFAULT_PROGRAMME).read_text(encoding="utf-8")
        for old, new in edits:
            assert old in text, old
            text = text.replace(old, new, 1)
        app.extensions["wzcheckin.programme"] = parse_programme(text, "edited.toml")
        return app.extensions["wzcheckin.programme"]

    yield use
    app.extensions["wzcheckin.programme"] = original


@pytest.fixture
def server_database(fresh_database):
    """``fresh_database`` (migrated by ``wzcheckin init``) plus any table the initial migration
    does not have yet — the venue tables until the migration is regenerated. ``checkfirst``
    makes this a no-op once it has them."""
    import wzcheckin.models  # noqa: F401 - every room's tables
    from wzcheckin.db import Base

    engine = sa.create_engine(fresh_database)
    Base.metadata.create_all(engine, checkfirst=True)
    engine.dispose()
    return fresh_database
