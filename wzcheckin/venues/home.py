"""Venues room's part of the worker's home: the next bookings, and ``reservations`` in
``GET /api/v1/me``."""

from __future__ import annotations

from wzcheckin.core.home import HomePanel
from wzcheckin.venues.booking import ineligibility, suspended_until
from wzcheckin.venues.queries import upcoming_reservations


def panel(session, worker, programme, now):
    return HomePanel("venues/_home_bookings.html", {
        "venue_bookings": upcoming_reservations(session, programme, worker.id, now, limit=3),
        "venue_booking_allowed": ineligibility(worker) is None,
        "venue_suspended_until": suspended_until(session, programme, worker.id, now),
    }, order=30)


def standing(session, worker, programme, now):
    tz = programme.tz
    until = suspended_until(session, programme, worker.id, now)
    return {
        "reservations": [
            {"id": r.public_id, "venue": r.slot.venue.code, "venue_name": r.slot.venue.name,
             "starts_at": r.slot.starts_at.astimezone(tz).isoformat(),
             "ends_at": r.slot.ends_at.astimezone(tz).isoformat(), "status": str(r.status)}
            for r in upcoming_reservations(session, programme, worker.id, now, limit=10)
        ],
        "venue_booking_suspended_until": until.astimezone(tz).isoformat() if until else None,
    }
