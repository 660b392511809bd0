"""The rooms of the app, in one list. Each room's ``__init__.py`` says what it brings as one
``room = Room(...)`` (``core/room.py`` lists the hooks); the app factory registers them in this
order (blueprints, API routes, scan handlers), the command line adds their commands, the demo
loads their data, the worker's home page shows their cards, the scheduler runs their jobs and the
retention purge deletes their raw records, all in this order. Adding a room is adding it here.

The menu follows this list too: a role's bar shows its links room by room in this order (each
room's in the order its ``Room(nav_items=...)`` lists them), then the officials' group headings in
their own order (``core/navigation.py``). That is why scanning stands before enterprises (a
gatekeeper's scanner first), and residence and review before benefits.
"""

from __future__ import annotations

from wzcheckin import accounts, admin, benefits, codes, core, directory, enterprises, residence, review, scanning, venues, welfare
from wzcheckin.core.job_specs import JobSpec
from wzcheckin.core.room import Room

ROOMS: tuple[Room, ...] = (
    core.room,
    directory.room,
    accounts.room,
    codes.room,
    scanning.room,
    enterprises.room,
    welfare.room,
    venues.room,
    residence.room,
    review.room,
    benefits.room,
    admin.room,
)


def all_jobs() -> list[JobSpec]:
    """Every room's scheduled jobs, for the scheduler process."""
    return [job for room in ROOMS for job in room.jobs]
