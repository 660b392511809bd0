"""Builders for welfare tests: pickup points (through the import's upsert) and their staff."""

from __future__ import annotations

from datetime import datetime

from tests.builders import BUILD_TIME, make_user, unique
from wzcheckin.core.roles import Role
from wzcheckin.welfare.services import PickupPointRow, upsert_pickup_point


def make_pickup_point(db, *, stock: int = 10, name: str | None = None, district: str = "鹿城区",
                      now: datetime = BUILD_TIME):
    n = unique()
    point, _created = upsert_pickup_point(
        db, PickupPointRow(f"PP{n}", name or f"领取点{n}", district, f"测试路 {n} 号", stock), now)
    return point


def make_pickup_staff(db, vault, point):
    return make_user(db, vault, Role.PICKUP_STAFF, checkpoint=point.checkpoint)
