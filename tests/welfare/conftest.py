from tests.scanning.fixtures import seeded  # noqa: F401 - a fixture
