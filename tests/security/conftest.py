"""Fixtures of the security and reliability tests; the world they share is in world.py."""

import pytest

from tests.scanning.fixtures import seeded  # noqa: F401 - a fixture


@pytest.fixture
def database_url(app):
    """The URL of the test app's database, for the real command line."""
    return app.config["SQLALCHEMY_DATABASE_URI"]
