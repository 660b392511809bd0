"""Fixtures of the browser tests."""

from tests.scanning.fixtures import seeded  # noqa: F401 - a fixture
