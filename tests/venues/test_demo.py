"""The venues room's demo data: real Wenzhou venues, a week of slots, a venue staff login, a few
bookings — and loading it twice changes nothing."""

import sqlalchemy as sa

from tests.support.clock import at
from tests.venues.builders import make_booker
from wzcheckin.accounts.models import User
from wzcheckin.core.roles import Role
from wzcheckin.demo import DemoContext
from wzcheckin.venues import demo
from wzcheckin.venues.models import Reservation, Slot, Venue, VenueKind


def test_demo_venues_slots_and_staff_load_idempotently(db, vault, programme):
    now = at("2021-02-08 09:00")
    context = DemoContext(workers=[make_booker(db, vault, programme) for _ in range(8)])
    demo.load(db, vault, programme, now, context)

    venues = {v.code: v for v in db.scalars(sa.select(Venue))}
    assert venues["wz-library"].name == "温州市图书馆"
    assert {v.kind for v in venues.values()} >= {VenueKind.LIBRARY, VenueKind.SPORTS, VenueKind.WORKERS_CENTRE,
                                                  VenueKind.SCENIC_SPOT, VenueKind.LANDMARK}
    library_slots = db.scalars(sa.select(Slot).where(Slot.venue_id == venues["wz-library"].id)
                               .order_by(Slot.starts_at)).all()
    assert library_slots[0].starts_at == at("2021-02-08 10:00")  # 09:00 has begun at the demo's start
    assert library_slots[-1].ends_at == at("2021-02-14 17:00")
    assert not db.scalar(sa.select(sa.func.count(Slot.id)).where(Slot.venue_id == venues["wuma-street"].id))
    staff = db.scalar(sa.select(User).where(User.role == Role.VENUE_STAFF))
    assert staff.checkpoint.ref == "venue:wz-library"
    assert [login["role"] for login in context.logins] == ["venue_staff"]
    assert db.scalar(sa.select(sa.func.count(Reservation.id))) == 8

    counts = [db.scalar(sa.select(sa.func.count(table.id))) for table in (Venue, Slot, Reservation)]
    demo.load(db, vault, programme, now, DemoContext(workers=context.workers))
    assert [db.scalar(sa.select(sa.func.count(table.id))) for table in (Venue, Slot, Reservation)] == counts
