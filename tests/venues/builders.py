"""Builders for the venues room: venues, slots, bookers and venue staff."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.builders import BUILD_TIME, make_user, make_worker, unique
from wzcheckin.core.roles import Role
from wzcheckin.venues.models import Slot, Venue, VenueKind
from wzcheckin.venues.services import VenueRow, upsert_venue


def make_venue(session, *, kind: VenueKind = VenueKind.LIBRARY, code: str | None = None, name: str | None = None,
               district: str = "鹿城区", address: str = "", now: datetime = BUILD_TIME) -> Venue:
    n = unique()
    row = VenueRow(code or f"venue-{n}", name or f"测试场馆{n}", kind, district, address)
    venue, _ = upsert_venue(session, row, now)
    return venue


def make_slot(session, venue: Venue, starts_at: datetime, *, minutes: int = 60, capacity: int = 10,
              now: datetime = BUILD_TIME) -> Slot:
    """A slot written directly, so a test may put it anywhere on its simulated timeline."""
    slot = Slot(venue_id=venue.id, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=minutes),
                capacity=capacity, taken=0, closed_notice="", created_at=now)
    session.add(slot)
    session.flush()
    return slot


def make_booker(session, vault, programme, **kwargs):
    """A worker who may book: pledged, household registration outside Wenzhou (Chengdu)."""
    return make_worker(session, vault, programme, pledged=True, **kwargs)


def make_venue_staff(session, vault, venue: Venue):
    return make_user(session, vault, Role.VENUE_STAFF, checkpoint=venue.checkpoint)
