"""Core: the worker's home page and ``GET /api/v1/me`` are composed from the rooms of the running
app (``core.room.app_rooms()``): each room may give

* ``home_panel(session, worker, programme, now) -> HomePanel | None`` — a card on the home page;
* ``home_standing(session, worker, programme, now) -> dict`` — its keys of ``/api/v1/me``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from wzcheckin.core.room import app_rooms
from wzcheckin.programme import Programme


@dataclass
class HomePanel:
    template: str            # rendered with ``context`` plus worker, programme, now
    context: dict = field(default_factory=dict)
    order: int = 50          # lower comes first


def home_panels(session: Session, worker, programme: Programme, now: datetime) -> list[HomePanel]:
    panels = [panel for room in app_rooms() if room.home_panel is not None
              and (panel := room.home_panel(session, worker, programme, now)) is not None]
    return sorted(panels, key=lambda panel: panel.order)


def worker_standing(session: Session, worker, programme: Programme, now: datetime) -> dict:
    standing: dict = {}
    for room in app_rooms():
        if room.home_standing is not None:
            standing.update(room.home_standing(session, worker, programme, now))
    return standing
