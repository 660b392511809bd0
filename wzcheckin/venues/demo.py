"""Venues room, demo data: real Wenzhou venues, a week of slots from the demo date, a few
bookings, and a venue staff login for the city library. Idempotent like the rest of the demo."""

from __future__ import annotations

from datetime import time, timedelta

import sqlalchemy as sa

from wzcheckin.accounts.staff import create_or_update_staff
from wzcheckin.core.roles import Role
from wzcheckin.venues.booking import book
from wzcheckin.venues.errors import BookingRefused
from wzcheckin.venues.models import Reservation, VenueKind
from wzcheckin.venues.queries import slots_on
from wzcheckin.venues.services import VenueRow, add_opening_hours, generate_slots, opening_hours, upsert_venue

DEMO_PASSWORD = "liuwen2021"  # noqa: S105 - the demo's shared password, printed by `wzcheckin demo`
STAFF_PHONE = "13957720041"
EVERY_DAY = set(range(7))

# (venue, opening hours: opens, closes, minutes per slot, places per slot)
DEMO_VENUES = [
    (VenueRow("wz-library", "温州市图书馆", VenueKind.LIBRARY, "鹿城区", "鹿城区市府路"),
     (time(9), time(17), 60, 40)),
    (VenueRow("ouhai-library", "瓯海区图书馆", VenueKind.LIBRARY, "瓯海区", "瓯海区娄桥街道"),
     (time(9), time(17), 120, 30)),
    (VenueRow("wz-sports-centre", "温州体育中心", VenueKind.SPORTS, "鹿城区", "鹿城区府东路"),
     (time(8), time(20), 120, 30)),
    (VenueRow("wz-workers-palace", "温州市工人文化宫", VenueKind.WORKERS_CENTRE, "鹿城区", "鹿城区广场路"),
     (time(9), time(21), 90, 25)),
    (VenueRow("wz-museum", "温州博物馆", VenueKind.CULTURE, "鹿城区", "鹿城区市府路"),
     (time(9), time(17), 120, 50)),
    (VenueRow("jiangxinyu", "江心屿景区", VenueKind.SCENIC_SPOT, "鹿城区", "鹿城区瓯江江心屿"),
     (time(8), time(16), 120, 100)),
    (VenueRow("yandangshan", "雁荡山风景名胜区", VenueKind.SCENIC_SPOT, "乐清市", "乐清市雁荡镇"),
     (time(8), time(16), 240, 200)),
    (VenueRow("wuma-street", "五马街历史文化街区", VenueKind.LANDMARK, "鹿城区", "鹿城区五马街"), None),
]
DEMO_DAYS = 7


def load(session, vault, programme, now, demo) -> None:
    venues = {}
    today = programme.local_date(now)
    for row, hours in DEMO_VENUES:
        venue, _created = upsert_venue(session, row, now)
        venues[row.code] = venue
        if hours is None:
            continue
        if not opening_hours(session, venue):
            opens, closes, minutes, capacity = hours
            add_opening_hours(session, venue, weekdays=EVERY_DAY, opens=opens, closes=closes, slot_minutes=minutes,
                              capacity=capacity, now=now)
        generate_slots(session, programme, venue, today, today + timedelta(days=DEMO_DAYS - 1), now)

    library = venues["wz-library"]
    create_or_update_staff(session, vault, role=Role.VENUE_STAFF, phone_raw=STAFF_PHONE, password=DEMO_PASSWORD,
                           now=now, checkpoint_ref=library.checkpoint.ref, display_name=library.name)
    demo.add_login("venue_staff", STAFF_PHONE, f"{library.name} ({library.checkpoint.ref})")

    # A few bookings so the staff page and "My bookings" have something to show. Only once.
    if session.scalar(sa.select(sa.func.count(Reservation.id))):
        return

    day_slots = slots_on(session, programme, [library.id], today).get(library.id, [])
    upcoming = [slot for slot in day_slots if slot.starts_at > now]
    if not upcoming:
        return
    for index, worker in enumerate(demo.workers[:12]):
        slot = upcoming[min(index // 6, len(upcoming) - 1)]
        try:
            book(session, programme, worker, slot.id, now)
        except BookingRefused:
            continue  # a worker from Wenzhou, or one who has not pledged: the demo shows both
