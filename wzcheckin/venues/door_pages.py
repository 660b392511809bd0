"""Venues room, the door's page: venue staff see their day's slots — booked, arrived, missed.
(The scanning itself is the scanning room's page and ``venues.scan_handlers``.)"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, render_template, request

from wzcheckin import clock
from wzcheckin.core import context
from wzcheckin.core.auth import current_checkpoint, roles_required
from wzcheckin.core.dates import parse_iso_day
from wzcheckin.core.roles import Role
from wzcheckin.extensions import db
from wzcheckin.venues import queries
from wzcheckin.venues.views import bp


@bp.get("/venue/today")
@roles_required(Role.VENUE_STAFF)
def staff_today():
    """Today's slots at the staff member's own venue: booked, arrived, no-shows."""
    venue = queries.venue_for_checkpoint(db.session, current_checkpoint().id)
    if venue is None:
        abort(403)
    programme, now = context.programme(), clock.now()
    today = programme.local_date(now)
    day = parse_iso_day(request.args.get("date")) or today
    slots = queries.slots_on(db.session, programme, [venue.id], day).get(venue.id, [])
    rows = queries.slot_counts(db.session, programme, slots, now)
    totals = {key: sum(getattr(row, key) for row in rows) for key in ("booked", "arrived", "no_show", "expected")}
    return render_template("venues/staff_today.html", venue=venue, day=day, today=today, rows=rows, totals=totals,
                           now=now, timedelta_day=timedelta(days=1))
