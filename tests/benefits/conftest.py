"""Fixtures of the benefits room's tests."""

from __future__ import annotations

import pytest

from tests.builders import make_user
from wzcheckin.accounts.models import Role


@pytest.fixture
def official(db, vault):
    return make_user(db, vault, Role.OFFICIAL)


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
