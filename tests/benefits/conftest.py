"""Fixtures of the benefits room's tests."""

from __future__ import annotations

import pytest

from tests.builders import make_user
from wzcheckin.core.roles import Role


@pytest.fixture
def official(db, vault):
    """The programme office (activities, services, the data bonus)."""
    return make_user(db, vault, Role.OFFICIAL)


@pytest.fixture
def hr_official(db, vault):
    """人社局: the training desk (P6) and wage complaints."""
    return make_user(db, vault, Role.HR_OFFICIAL)


@pytest.fixture
def carrier_of(db, vault):
    """``carrier_of("china_mobile")``: a carrier staff account bound to that carrier."""

    def make(code: str):
        return make_user(db, vault, Role.CARRIER, carrier=code)

    return make


@pytest.fixture
def audit_entries(db):
    """The audit log's entries with a given action, read fresh from the database."""
    import sqlalchemy as sa

    from wzcheckin.core.models import AuditEntry

    def read(action: str):
        db.rollback()
        return list(db.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))

    return read


@pytest.fixture
def set_clock(app, tmp_path):
    """Put the test app on a simulated clock: ``set_clock("2021-02-05 10:00")`` (local time);
    it starts inside the data-bonus claim window."""
    from tests.support.clock import at
    from wzcheckin.clock import SimulatedClock

    clock = SimulatedClock(tmp_path / "app-clock")
    original = app.extensions["wzcheckin.clock"]
    app.extensions["wzcheckin.clock"] = clock

    def set_to(text: str) -> None:
        clock.set(at(text))

    set_to("2021-02-05 10:00")
    yield set_to
    app.extensions["wzcheckin.clock"] = original


@pytest.fixture
def claim_window_env(tmp_path):
    """The environment that puts a gunicorn server on a simulated clock inside the data-bonus
    claim window (the simulated clock is allowed in development mode only)."""
    from tests.support.clock import at
    from wzcheckin.clock import SimulatedClock

    path = tmp_path / "server-clock"
    SimulatedClock(path).set(at("2021-02-05 10:00"), running=True)
    return {"WZCHECKIN_DEV": "1", "WZCHECKIN_SIMULATED_CLOCK_FILE": str(path)}
