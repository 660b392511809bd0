"""Instants in the programme's own time zone, for tests that replay the 2021 programme."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

WENZHOU = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """An instant from local Wenzhou time, e.g. at("2021-02-05 09:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=WENZHOU).astimezone(UTC)
