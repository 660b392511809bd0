"""Benefits room's part of the worker's home page and of ``GET /api/v1/me``: the at-a-glance
summary, the data bonus with its claim button, points, and shortcuts to training, activities,
services and rights; plus where to get a scan for each evidence window."""

from __future__ import annotations

from wzcheckin.benefits.courses import worker_enrolments
from wzcheckin.benefits.data_bonus import claim_blocker, claim_json, find_claim
from wzcheckin.benefits.points import points_balance
from wzcheckin.core.dates import shown
from wzcheckin.core.home import HomePanel, worker_standing


def data_bonus_standing(session, worker, programme, now) -> dict:
    claim = find_claim(session, worker.id)
    blocker = claim_blocker(session, programme, worker, now) if claim is None else None
    return claim_json(claim, worker, blocker)


def standing(session, worker, programme, now):
    return {"points": points_balance(session, worker.id),
            "data_bonus": data_bonus_standing(session, worker, programme, now)}


def _glance(session, worker, programme, now) -> dict:
    """What the summary strip shows, from every room's standing (missing keys show nothing)."""
    values = worker_standing(session, worker, programme, now)
    windows = values.get("evidence_windows") or []
    return {
        "points": values.get("points", 0),
        "welfare_pack": values.get("welfare_pack"),
        "data_bonus": (values.get("data_bonus") or {}).get("status"),
        "windows_total": len(windows),
        "windows_done": sum(1 for w in windows if w.get("satisfied")),
        "confirmed": values.get("confirmed"),
        "after_cutoff": now >= programme.cutoff,
    }


def _links() -> dict:
    """Where the home page sends people; a room that is not installed gives no link."""
    from flask import url_for
    from werkzeug.routing import BuildError

    links = {}
    for name, endpoint in (("training", "benefits.training_list"), ("venues", "venues.browse")):
        try:
            links[name] = url_for(endpoint)
        except BuildError:
            links[name] = None
    return links


def _cutoff_text(programme) -> str:
    """"2021-02-28 24:00": a cutoff at local midnight reads as the end of the day before."""
    from datetime import timedelta

    local = programme.cutoff.astimezone(programme.tz)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return f"{shown((local - timedelta(days=1)).date())} 24:00"
    return shown(programme.cutoff)


def panel(session, worker, programme, now):
    enrolments = [e for e in worker_enrolments(session, worker.id)
                  if e.course.ends_on >= programme.local_date(now)]
    return HomePanel("benefits/_home_benefits.html", {
        "glance": _glance(session, worker, programme, now),
        "data_bonus": data_bonus_standing(session, worker, programme, now),
        "points": points_balance(session, worker.id),
        "enrolments": enrolments[:3],
        "gigabytes": programme.data_bonus.gigabytes,
        "bonus_window": (programme.data_bonus.claim_opens.isoformat(), programme.data_bonus.claim_closes.isoformat()),
        "links": _links(),
        "cutoff_text": _cutoff_text(programme),
    }, order=5)
