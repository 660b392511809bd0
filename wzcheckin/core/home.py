"""The worker's home page and ``GET /api/v1/me`` are composed from the rooms: each room may
provide ``<room>/home.py`` with

* ``panel(session, worker, programme, now) -> HomePanel | None`` — a card on the home page;
* ``standing(session, worker, programme, now) -> dict`` — its keys of ``/api/v1/me``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from wzcheckin.programme import Programme
from wzcheckin.rooms import room_modules


@dataclass
class HomePanel:
    template: str            # rendered with ``context`` plus worker, programme, now
    context: dict = field(default_factory=dict)
    order: int = 50          # lower comes first


def home_panels(session: Session, worker, programme: Programme, now: datetime) -> list[HomePanel]:
    panels = []
    for module in room_modules("home"):
        make = getattr(module, "panel", None)
        if make is not None and (panel := make(session, worker, programme, now)) is not None:
            panels.append(panel)
    return sorted(panels, key=lambda panel: panel.order)


def worker_standing(session: Session, worker, programme: Programme, now: datetime) -> dict:
    standing: dict = {}
    for module in room_modules("home"):
        contribute = getattr(module, "standing", None)
        if contribute is not None:
            standing.update(contribute(session, worker, programme, now))
    return standing
