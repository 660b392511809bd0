"""Welfare room's part of the worker's home: the welfare pack, collected or where to get it."""

from __future__ import annotations

from wzcheckin.accounts.workers import retained_worker_problem
from wzcheckin.core.home import HomePanel
from wzcheckin.welfare.services import handout_for_worker, points_with_stock


def panel(session, worker, programme, now):
    handout = handout_for_worker(session, worker.id)
    return HomePanel("welfare/_home_pack.html", {
        "handout": handout,
        "problem": retained_worker_problem(worker) if handout is None else None,
        "points": points_with_stock(session) if handout is None else [],
    }, order=30)


def standing(session, worker, programme, now):
    return {"welfare_pack": "collected" if handout_for_worker(session, worker.id) is not None else "not_collected"}
