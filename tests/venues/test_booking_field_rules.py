"""Bookings as people use them (issues 16 and 19): one person is not booked in two places at once,
a booking is reminded by SMS the day before, and a booking retried after a lost answer gets the
booking it made — never a refusal the phone cannot explain."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.support.clock import at
from tests.venues.builders import make_booker, make_slot, make_venue
from tests.venues.test_api import bearer, tomorrow_at
from wzcheckin.residence.models import SmsMessage
from wzcheckin.venues import booking
from wzcheckin.venues.errors import BookingRefused
from wzcheckin.venues.jobs import remind_tomorrows_bookings
from wzcheckin.venues.models import Reservation, Slot

NOW = at("2021-02-08 10:00")


def test_a_booking_overlapping_another_in_time_is_refused(db, vault, programme):
    library, gym = make_venue(db), make_venue(db)
    morning = make_slot(db, library, at("2021-02-10 09:00"), minutes=120)
    overlapping = make_slot(db, gym, at("2021-02-10 10:00"), minutes=60)
    afterwards = make_slot(db, gym, at("2021-02-10 11:00"), minutes=60)   # starts as the first ends
    worker = make_booker(db, vault, programme)
    booking.book(db, programme, worker, morning.id, NOW)
    with pytest.raises(BookingRefused, match=r"^overlapping_booking$"):
        booking.book(db, programme, worker, overlapping.id, NOW)
    assert booking.book(db, programme, worker, afterwards.id, NOW).status.value == "booked"


def test_overlapping_bookings_are_allowed_where_the_programme_says_so(db, vault, programme):
    relaxed = programme.model_copy(update={"venues": programme.venues.model_copy(update={"refuse_overlapping": False})})
    library, gym = make_venue(db), make_venue(db)
    worker = make_booker(db, vault, programme)
    booking.book(db, relaxed, worker, make_slot(db, library, at("2021-02-10 09:00"), minutes=120).id, NOW)
    assert booking.book(db, relaxed, worker, make_slot(db, gym, at("2021-02-10 10:00")).id, NOW)


def test_a_text_reminder_goes_the_day_before_a_booking_once(app, db, vault, programme):
    venue = make_venue(db, name="温州市图书馆")
    tomorrow = make_slot(db, venue, at("2021-02-10 09:00"))
    later = make_slot(db, venue, at("2021-02-11 09:00"))
    worker, other = make_booker(db, vault, programme), make_booker(db, vault, programme)
    booking.book(db, programme, worker, tomorrow.id, NOW)
    cancelled = booking.book(db, programme, other, tomorrow.id, NOW)
    booking.cancel(db, programme, cancelled, NOW)
    booking.book(db, programme, other, later.id, NOW)
    with app.app_context():
        first = remind_tomorrows_bookings(db, programme, at("2021-02-09 18:00"))
        again = remind_tomorrows_bookings(db, programme, at("2021-02-09 18:30"))
    messages = db.scalars(sa.select(SmsMessage).where(SmsMessage.kind == "booking_reminder")).all()
    assert (first["queued"], again["queued"]) == (1, 0)
    assert [m.worker_id for m in messages] == [worker.id]
    assert "温州市图书馆" in messages[0].body and "明天" in messages[0].body
    assert "明天 2月10日 09:00。" in messages[0].body  # month and day in words, Wenzhou time, no year


def test_an_english_booking_reminder_writes_the_day_unambiguously(app, programme):
    from wzcheckin.venues.jobs import reminder_body

    with app.app_context():
        body = reminder_body(programme, "Wenzhou Library", at("2021-02-10 09:00"), "en")
    assert "tomorrow, Feb 10, 09:00." in body and "2/10/21" not in body


def test_a_booking_retried_after_a_lost_answer_gets_the_booking_it_made(client, db, vault, programme):
    slot = make_slot(db, make_venue(db), tomorrow_at(10), capacity=5)
    worker = make_booker(db, vault, programme)
    headers = bearer(db, worker.user)
    db.commit()
    first = client.post("/api/v1/reservations", json={"slot_id": slot.id}, headers=headers)
    retried = client.post("/api/v1/reservations", json={"slot_id": slot.id}, headers=headers)
    assert first.status_code == 201
    assert retried.status_code == 200 and retried.get_json()["replayed"] is True
    assert retried.get_json()["id"] == first.get_json()["id"]
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(Reservation)) == 1
    assert db.scalar(sa.select(Slot.taken).where(Slot.id == slot.id)) == 1
