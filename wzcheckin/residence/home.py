"""Residence room's part of the worker's home: which evidence windows are satisfied."""

from __future__ import annotations

from wzcheckin.core.home import HomePanel
from wzcheckin.residence.evidence import window_statuses


def panel(session, worker, programme, now):
    statuses = window_statuses(session, programme, [worker.id], now)[worker.id]
    return HomePanel("residence/_home_evidence.html", {"windows": statuses}, order=20)


def standing(session, worker, programme, now):
    statuses = window_statuses(session, programme, [worker.id], now)[worker.id]
    return {
        "evidence_windows": [
            {"name": s.name, "name_en": s.name_en, "start": s.start.isoformat(), "end": s.end.isoformat(),
             "satisfied": s.satisfied, "state": s.state}
            for s in statuses
        ],
        "confirmed": None,  # decided at the cutoff (see residence.cutoff)
    }
