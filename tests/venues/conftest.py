"""Fixtures of the venues room."""

from __future__ import annotations

import pytest
import sqlalchemy as sa


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
