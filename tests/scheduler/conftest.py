"""Scheduler tests: the app (or the real command) on a simulated clock just after the cutoff."""

from __future__ import annotations

import pytest

from tests.support.clock import at

AFTER_CUTOFF = "2021-03-01 00:05:30"  # not on a minute: every due instant has settled


@pytest.fixture
def clock_file(tmp_path):
    """A clock file for ``wzcheckin`` processes: standing still just after the cutoff."""
    from wzcheckin.clock import SimulatedClock

    path = tmp_path / "clock"
    SimulatedClock(path).set(at(AFTER_CUTOFF))
    return path


@pytest.fixture
def app_after_cutoff(app, clock_file):
    """The test app on that clock (restored afterwards)."""
    from wzcheckin.clock import SimulatedClock

    original = app.extensions["wzcheckin.clock"]
    app.extensions["wzcheckin.clock"] = SimulatedClock(clock_file)
    yield app
    app.extensions["wzcheckin.clock"] = original


@pytest.fixture
def database_url(app):
    return app.config["SQLALCHEMY_DATABASE_URI"]
