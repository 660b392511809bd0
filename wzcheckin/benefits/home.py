"""Benefits room's part of the worker's home: the points balance."""

from __future__ import annotations

from wzcheckin.benefits.points import points_balance
from wzcheckin.core.home import HomePanel


def panel(session, worker, programme, now):
    return HomePanel("benefits/_home_points.html", {"points": points_balance(session, worker.id)}, order=40)


def standing(session, worker, programme, now):
    return {"points": points_balance(session, worker.id)}
