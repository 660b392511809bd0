"""Officials' desk tests: an official logged in, and exports posted the way the page posts them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.builders import make_user
from tests.residence.conftest import cutoff, set_clock  # noqa: F401 - the residence room's fixtures, shared
from tests.support.web import csrf_token_from
from wzcheckin.core.models import AuditEntry
from wzcheckin.core.roles import Role


@pytest.fixture
def official(db, vault):
    return make_user(db, vault, Role.OFFICIAL)


@pytest.fixture
def as_official(official, login_as):
    """The test client, logged in as an official."""
    return login_as(official)


def csrf(client, url: str = "/admin/exports") -> str:
    return csrf_token_from(client.get(url).text)


def post_export(client, name: str, fmt: str = "csv", **fields):
    return client.post(f"/admin/exports/{name}", data={"csrf_token": csrf(client), "format": fmt, **fields})


def audit_entries(db, action_prefix: str = "admin.export") -> list[AuditEntry]:
    db.rollback()
    return list(db.scalars(sa.select(AuditEntry).where(AuditEntry.action.like(f"{action_prefix}%"))
                           .order_by(AuditEntry.id)))
