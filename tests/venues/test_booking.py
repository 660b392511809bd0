"""Booking on a simulated timeline, through the domain functions: places, eligibility, the
per-worker limits, suspension after no-shows, cancelling, the waiting list, closing slots."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.builders import make_unique_id_number, make_user
from tests.support.clock import at
from tests.venues.builders import make_booker, make_slot, make_venue
from wzcheckin.codes.tokens import TokenKind
from wzcheckin.core.roles import Role
from wzcheckin.venues import booking
from wzcheckin.venues.errors import BookingRefused, VenueError
from wzcheckin.venues.jobs import mark_no_shows
from wzcheckin.venues.models import (
    Reservation,
    ReservationStatus,
    Slot,
    VenueKind,
    VenueNotice,
    WaitlistEntry,
    WaitlistStatus,
)

NOW = at("2021-02-08 09:00")


def refused(code):
    return pytest.raises(BookingRefused, match=f"^{code}$")


def with_rules(programme, **rules):
    return programme.model_copy(update={"venues": programme.venues.model_copy(update=rules)})


def test_a_booking_takes_one_place_and_a_full_slot_refuses(db, vault, programme):
    venue = make_venue(db)
    slot = make_slot(db, venue, at("2021-02-08 10:00"), capacity=2)
    first, second, third = (make_booker(db, vault, programme) for _ in range(3))
    reservation = booking.book(db, programme, first, slot.id, NOW)
    assert reservation.status is ReservationStatus.BOOKED and len(reservation.public_id) == 16
    booking.book(db, programme, second, slot.id, NOW)
    db.refresh(slot)
    assert (slot.taken, slot.remaining) == (2, 0)
    with refused("slot_full"):
        booking.book(db, programme, third, slot.id, NOW)
    db.refresh(slot)
    assert slot.taken == 2
    assert db.scalar(sa.select(sa.func.count(Reservation.id))) == 2


def test_only_pledged_workers_from_outside_wenzhou_may_book(db, vault, programme):
    slot = make_slot(db, make_venue(db), at("2021-02-08 10:00"))
    unpledged = make_booker(db, vault, programme)
    unpledged.pledged_at = None
    local = make_booker(db, vault, programme, id_number=make_unique_id_number("330302"))
    assert local.hukou_is_home
    for worker, why in [(unpledged, "not_pledged"), (local, "wenzhou_hukou")]:
        with refused("not_eligible") as caught:
            booking.book(db, programme, worker, slot.id, NOW)
        assert caught.value.params == {"why": why}
    db.refresh(slot)
    assert slot.taken == 0


def test_closed_started_unknown_and_landmark_slots_refuse(db, vault, programme):
    worker = make_booker(db, vault, programme)
    venue = make_venue(db)
    started = make_slot(db, venue, at("2021-02-08 09:00"))
    closed = make_slot(db, venue, at("2021-02-08 11:00"))
    landmark_slot = make_slot(db, make_venue(db, kind=VenueKind.LANDMARK), at("2021-02-08 11:00"))
    booking.close_slot(db, programme, closed.id, "", NOW)
    with refused("slot_started"):
        booking.book(db, programme, worker, started.id, NOW)
    with refused("slot_closed"):
        booking.book(db, programme, worker, closed.id, NOW)
    with refused("not_bookable"):
        booking.book(db, programme, worker, landmark_slot.id, NOW)
    with refused("slot_unknown"):
        booking.book(db, programme, worker, 999_999, NOW)


def test_the_lock_free_refusal_answers_only_as_the_locked_booking_would(db, vault, programme):
    """``refuse_if_full`` runs before the unit of work: it may only refuse, and only with the
    answer ``book`` would give under the lock."""
    venue = make_venue(db)
    full = make_slot(db, venue, at("2021-02-08 10:00"), capacity=1)
    full_and_closed = make_slot(db, venue, at("2021-02-08 11:00"), capacity=1)
    full_and_started = make_slot(db, venue, at("2021-02-08 08:00"), capacity=1)
    holder, latecomer = make_booker(db, vault, programme), make_booker(db, vault, programme)
    booking.book(db, programme, holder, full.id, NOW)
    for slot in (full_and_closed, full_and_started):  # filled while they were still open
        booking.book(db, programme, make_booker(db, vault, programme), slot.id, at("2021-02-07 09:00"))
    booking.close_slot(db, programme, full_and_closed.id, "", NOW)
    db.execute(sa.update(Slot).where(Slot.id == full_and_closed.id).values(taken=1))  # still counted full

    with refused("slot_full"):
        booking.refuse_if_full(db, latecomer, full.id, NOW)
    with refused("already_booked"):
        booking.refuse_if_full(db, holder, full.id, NOW)
    # Where the locked path says something else, the lock-free look stays silent.
    for slot, locked_answer in [(full_and_closed, "slot_closed"), (full_and_started, "slot_started")]:
        booking.refuse_if_full(db, latecomer, slot.id, NOW)
        with refused(locked_answer):
            booking.book(db, programme, latecomer, slot.id, NOW)
    booking.refuse_if_full(db, latecomer, 999_999, NOW)  # unknown: book() says slot_unknown
    latecomer.pledged_at = None
    booking.refuse_if_full(db, latecomer, full.id, NOW)  # not eligible: book() says not_eligible
    db.execute(sa.update(Slot).where(Slot.id == full.id).values(capacity=2))
    booking.refuse_if_full(db, make_booker(db, vault, programme), full.id, NOW)  # a place again: silent


def test_the_look_before_booking_reads_the_worker_and_refuses_a_full_slot_in_one_statement(db, vault, programme):
    """The API's look (``look_before_booking``): the account's worker as a ``Booker`` whatever
    the slot, and the full slot's refusal only where ``book`` would answer the same."""
    venue = make_venue(db)
    full, open_slot = make_slot(db, venue, at("2021-02-08 10:00"), capacity=1), make_slot(db, venue, at("2021-02-08 11:00"))
    holder, latecomer = make_booker(db, vault, programme), make_booker(db, vault, programme)
    booking.book(db, programme, holder, full.id, NOW)

    look = booking.look_before_booking(db, latecomer.user_id, full.id, NOW)
    assert look.booker == booking.Booker(latecomer.id, True, False) and look.refusal.code == "slot_full"
    assert (look.slot.id, look.slot.taken, look.slot.capacity, look.slot.venue.code) == (full.id, 1, 1, venue.code)
    assert booking.look_before_booking(db, holder.user_id, full.id, NOW).refusal.code == "already_booked"
    assert booking.look_before_booking(db, latecomer.user_id, open_slot.id, NOW).refusal is None
    unknown = booking.look_before_booking(db, latecomer.user_id, 999_999, NOW)  # take_booking(): slot_unknown
    assert (unknown.booker, unknown.slot, unknown.refusal) == (look.booker, None, None)
    assert booking.look_before_booking(db, latecomer.user_id, full.id, at("2021-02-08 10:00")).refusal is None  # started
    staff = make_user(db, vault, Role.VENUE_STAFF)
    assert booking.look_before_booking(db, staff.id, full.id, NOW) == booking.Look(None, None, None)  # no worker
    latecomer.pledged_at = None
    db.flush()
    look = booking.look_before_booking(db, latecomer.user_id, full.id, NOW)
    assert look.booker.has_pledged is False and look.refusal is None  # take_booking() says not_eligible
    with refused("not_eligible"):
        booking.take_booking(db, programme, look.booker, full.id, NOW, slot=look.slot)


def test_a_booking_from_a_look_that_went_stale_takes_no_place_it_does_not_have(db, vault, programme):
    """The look's slot is read without a lock: the conditional UPDATE decides, and the refusal
    says what the slot is now."""
    slot = make_slot(db, make_venue(db), at("2021-02-08 10:00"), capacity=1)
    first, second = make_booker(db, vault, programme), make_booker(db, vault, programme)
    stale = booking.look_before_booking(db, second.user_id, slot.id, NOW)
    assert stale.refusal is None and stale.slot.taken == 0
    booking.book(db, programme, first, slot.id, NOW)
    with refused("slot_full"):
        booking.take_booking(db, programme, stale.booker, slot.id, NOW, slot=stale.slot)
    booking.close_slot(db, programme, slot.id, "", NOW)
    with refused("slot_closed"):
        booking.take_booking(db, programme, stale.booker, slot.id, NOW, slot=stale.slot)
    assert db.scalar(sa.select(Slot.taken).where(Slot.id == slot.id)) == 0


def test_a_booking_answers_from_the_rows_it_was_made_from(db, vault, programme):
    venue = make_venue(db)
    slot = make_slot(db, venue, at("2021-02-08 10:00"), capacity=3)
    worker = make_booker(db, vault, programme)
    look = booking.look_before_booking(db, worker.user_id, slot.id, NOW)

    booked = booking.take_booking(db, programme, look.booker, slot.id, NOW, slot=look.slot)

    stored = db.get(Reservation, booked.reservation.id)
    assert stored is booked.reservation  # handed to the session as loaded, no second object
    db.expire(stored)
    assert (stored.public_id, stored.worker_id, stored.slot_id, stored.status, stored.source, stored.created_at) == (
        booked.reservation.public_id, worker.id, slot.id, ReservationStatus.BOOKED, "direct", NOW)
    assert (booked.slot.id, booked.slot.starts_at, booked.slot.ends_at, booked.slot.venue.code) == (
        slot.id, slot.starts_at, slot.ends_at, venue.code)
    assert db.scalar(sa.select(Slot.taken).where(Slot.id == slot.id)) == 1


def test_a_direct_booking_that_loses_the_race_for_its_worker_s_place_takes_no_place(db, vault, programme):
    """The last line behind the worker's lock: the partial UNIQUE index. A direct booking has no
    savepoint — its refusal leaves the transaction to its unit of work, which rolls the place back."""
    slot = make_slot(db, make_venue(db), at("2021-02-08 10:00"), capacity=5)
    worker = make_booker(db, vault, programme)
    booking.book(db, programme, worker, slot.id, NOW)  # the twin request that won
    db.commit()
    view = booking._slot_view(db, slot.id)

    with refused("already_booked"):
        booking._take_place(db, worker, view, NOW, source="direct", savepoint=False)
    db.rollback()

    assert db.scalar(sa.select(Slot.taken).where(Slot.id == slot.id)) == 1
    assert db.scalar(sa.select(sa.func.count(Reservation.id)).where(Reservation.slot_id == slot.id)) == 1


def test_one_booking_per_slot_and_per_venue_per_day(db, vault, programme):
    worker = make_booker(db, vault, programme)
    venue, other = make_venue(db), make_venue(db)
    morning = make_slot(db, venue, at("2021-02-08 10:00"))
    afternoon = make_slot(db, venue, at("2021-02-08 15:00"))
    next_day = make_slot(db, venue, at("2021-02-09 10:00"))
    elsewhere = make_slot(db, other, at("2021-02-08 15:00"))
    booking.book(db, programme, worker, morning.id, NOW)
    with refused("already_booked"):
        booking.book(db, programme, worker, morning.id, NOW)
    with refused("already_booked_that_day"):
        booking.book(db, programme, worker, afternoon.id, NOW)
    booking.book(db, programme, worker, next_day.id, NOW)
    booking.book(db, programme, worker, elsewhere.id, NOW)
    # The programme file may allow several visits a day.
    relaxed = with_rules(programme, one_per_venue_per_day=False, max_active_bookings=5, refuse_overlapping=False)
    booking.book(db, relaxed, worker, afternoon.id, NOW)


def test_at_most_n_bookings_ahead_and_a_used_slot_frees_the_count(db, vault, programme):
    assert programme.venues.max_active_bookings == 3
    worker = make_booker(db, vault, programme)
    slots = [make_slot(db, make_venue(db), at(f"2021-02-{8 + i:02d} 10:00")) for i in range(4)]
    for slot in slots[:3]:
        booking.book(db, programme, worker, slot.id, NOW)
    with refused("limit_reached") as caught:
        booking.book(db, programme, worker, slots[3].id, NOW)
    assert caught.value.params == {"limit": 3}
    # Once the first slot is over (and past its late grace) it no longer counts.
    later = at("2021-02-08 11:31")
    booking.book(db, programme, worker, slots[3].id, later)


def test_missed_bookings_suspend_booking_for_a_while(db, vault, programme):
    rules = programme.venues
    assert (rules.no_show_limit, rules.no_show_window_days, rules.suspension_days) == (2, 14, 7)
    worker = make_booker(db, vault, programme)
    first = make_slot(db, make_venue(db), at("2021-02-01 10:00"))
    second = make_slot(db, make_venue(db), at("2021-02-05 10:00"))
    booking.book(db, programme, worker, first.id, at("2021-01-30 09:00"))
    booking.book(db, programme, worker, second.id, at("2021-01-30 09:00"))
    one_missed = at("2021-02-03 09:00")
    assert booking.suspended_until(db, programme, worker.id, one_missed) is None
    # The second miss suspends from its slot's end plus the late grace, job or no job.
    second_missed = at("2021-02-05 11:30")
    expected_until = second_missed + timedelta(days=7)
    assert booking.suspended_until(db, programme, worker.id, at("2021-02-05 12:00")) == expected_until
    summary = mark_no_shows(db, programme, at("2021-02-05 12:00"))
    assert summary["no_shows"] == 2
    assert mark_no_shows(db, programme, at("2021-02-05 12:10"))["no_shows"] == 0  # nothing twice
    later_slot = make_slot(db, make_venue(db), at("2021-02-13 10:00"))
    with refused("suspended") as caught:
        booking.book(db, programme, worker, later_slot.id, at("2021-02-12 11:29"))
    assert caught.value.params["until"] == expected_until
    booking.book(db, programme, worker, later_slot.id, expected_until)


def test_a_suspended_worker_or_one_booked_there_that_day_cannot_join_a_waiting_list(db, vault, programme):
    """Joining a waiting list is a standing booking: the same rules refuse it as a booking."""
    venue = make_venue(db)
    full = make_slot(db, venue, at("2021-02-13 10:00"), capacity=1)
    booking.book(db, programme, make_booker(db, vault, programme), full.id, at("2021-02-01 09:00"))
    # Two missed bookings suspend until the second miss plus seven days (as above).
    missing = make_booker(db, vault, programme)
    for day in ("2021-02-01", "2021-02-05"):
        booking.book(db, programme, missing, make_slot(db, make_venue(db), at(f"{day} 10:00")).id, at("2021-01-30 09:00"))
    with refused("suspended") as caught:
        booking.join_waitlist(db, programme, missing, full.id, at("2021-02-12 11:29"))
    assert caught.value.params["until"] == at("2021-02-05 11:30") + timedelta(days=7)
    # One place per venue per day: a booking that afternoon at the same venue refuses the morning's list.
    busy = make_booker(db, vault, programme)
    booking.book(db, programme, busy, make_slot(db, venue, at("2021-02-13 15:00")).id, at("2021-02-12 09:00"))
    with refused("already_booked_that_day"):
        booking.join_waitlist(db, programme, busy, full.id, at("2021-02-12 09:05"))
    # Neither is on the list; a worker the rules let in is.
    free = make_booker(db, vault, programme)
    entry = booking.join_waitlist(db, programme, free, full.id, at("2021-02-12 09:10"))
    assert {e.worker_id for e in db.scalars(sa.select(WaitlistEntry))} == {free.id} == {entry.worker_id}


def test_two_misses_further_apart_than_the_window_do_not_suspend(db, vault, programme):
    worker = make_booker(db, vault, programme)
    early = make_slot(db, make_venue(db), at("2021-01-20 10:00"))
    late = make_slot(db, make_venue(db), at("2021-02-05 10:00"))
    booking.book(db, programme, worker, early.id, at("2021-01-19 09:00"))
    booking.book(db, programme, worker, late.id, at("2021-01-19 09:00"))
    assert booking.suspended_until(db, programme, worker.id, at("2021-02-06 09:00")) is None


def test_cancel_gives_the_place_back_exactly_once_and_the_slot_can_be_booked_again(db, vault, programme):
    worker = make_booker(db, vault, programme)
    slot = make_slot(db, make_venue(db), at("2021-02-08 10:00"), capacity=1)
    reservation = booking.book(db, programme, worker, slot.id, NOW)
    booking.cancel(db, programme, reservation, at("2021-02-08 09:10"))
    db.refresh(slot)
    assert (reservation.status, reservation.cancelled_by, slot.taken) == (ReservationStatus.CANCELLED, "worker", 0)
    with refused("already_cancelled"):
        booking.cancel(db, programme, reservation, at("2021-02-08 09:11"))
    db.refresh(slot)
    assert slot.taken == 0
    again = booking.book(db, programme, worker, slot.id, at("2021-02-08 09:20"))
    assert again.public_id != reservation.public_id
    with refused("slot_started"):
        booking.cancel(db, programme, again, at("2021-02-08 10:00"))
    db.refresh(slot)
    assert slot.taken == 1


def test_the_code_is_a_signed_reservation_token_valid_until_the_late_grace(db, vault, programme, keyring):
    worker = make_booker(db, vault, programme)
    slot = make_slot(db, make_venue(db), at("2021-02-08 10:00"))
    reservation = booking.book(db, programme, worker, slot.id, NOW)
    code = booking.reservation_code(keyring, programme, reservation)
    assert code.expires_at == at("2021-02-08 11:30")
    claims = keyring.verify(code.token, at("2021-02-08 11:29"))
    assert claims.kind is TokenKind.RESERVATION and claims.subject == reservation.public_id
    assert worker.public_id not in code.token and reservation.public_id != worker.public_id


def test_a_freed_place_is_booked_for_the_first_worker_waiting_who_can_take_it(db, vault, programme):
    venue = make_venue(db)
    slot = make_slot(db, venue, at("2021-02-08 10:00"), capacity=1)
    holder, busy, patient = (make_booker(db, vault, programme) for _ in range(3))
    held = booking.book(db, programme, holder, slot.id, NOW)
    with refused("not_full"):
        booking.join_waitlist(db, programme, busy, make_slot(db, venue, at("2021-02-09 10:00")).id, NOW)
    booking.join_waitlist(db, programme, busy, slot.id, at("2021-02-08 09:01"))
    booking.join_waitlist(db, programme, patient, slot.id, at("2021-02-08 09:02"))
    with refused("already_waiting"):
        booking.join_waitlist(db, programme, patient, slot.id, at("2021-02-08 09:03"))
    # The first in line has meanwhile booked another slot at this venue that day: they are skipped.
    booking.book(db, programme, busy, make_slot(db, venue, at("2021-02-08 14:00")).id, at("2021-02-08 09:04"))

    booking.cancel(db, programme, held, at("2021-02-08 09:30"))

    db.refresh(slot)
    assert slot.taken == 1
    promoted = db.scalar(sa.select(Reservation).where(Reservation.slot_id == slot.id,
                                                      Reservation.status == ReservationStatus.BOOKED))
    assert promoted.worker_id == patient.id and promoted.source == "waitlist"
    entries = {e.worker_id: e for e in db.scalars(sa.select(WaitlistEntry))}
    assert entries[busy.id].status is WaitlistStatus.SKIPPED
    assert entries[busy.id].skip_reason == "already_booked_that_day"
    assert entries[patient.id].status is WaitlistStatus.BOOKED
    notices = {(n.worker_id, n.kind) for n in db.scalars(sa.select(VenueNotice))}
    assert notices == {(busy.id, "waitlist_skipped"), (patient.id, "waitlist_booked")}


def test_closing_a_slot_cancels_its_bookings_with_a_notice_and_ends_its_waiting_list(db, vault, programme):
    slot = make_slot(db, make_venue(db), at("2021-02-08 10:00"), capacity=1)
    booked, waiting = make_booker(db, vault, programme), make_booker(db, vault, programme)
    reservation = booking.book(db, programme, booked, slot.id, NOW)
    booking.join_waitlist(db, programme, waiting, slot.id, NOW)
    assert booking.close_slot(db, programme, slot.id, "馆内设备检修，暂停开放", at("2021-02-08 09:15")) == 1
    db.refresh(slot)
    db.refresh(reservation)
    assert (slot.taken, slot.remaining, slot.is_closed) == (0, 0, True)
    assert (reservation.status, reservation.cancelled_by) == (ReservationStatus.CANCELLED, "closure")
    notice = db.scalar(sa.select(VenueNotice))
    assert (notice.worker_id, notice.kind, notice.text) == (booked.id, "slot_closed", "馆内设备检修，暂停开放")
    assert db.scalar(sa.select(WaitlistEntry.status)) is WaitlistStatus.EXPIRED
    with pytest.raises(VenueError, match="slot_closed"):
        booking.close_slot(db, programme, slot.id, "", at("2021-02-08 09:16"))


def test_capacity_never_drops_below_the_places_taken_and_new_places_serve_the_waiting_list(db, vault, programme):
    slot = make_slot(db, make_venue(db), at("2021-02-08 10:00"), capacity=2)
    a, b, c = (make_booker(db, vault, programme) for _ in range(3))
    booking.book(db, programme, a, slot.id, NOW)
    booking.book(db, programme, b, slot.id, NOW)
    booking.join_waitlist(db, programme, c, slot.id, NOW)
    with pytest.raises(VenueError, match="capacity_below_booked") as caught:
        booking.set_capacity(db, programme, slot.id, 1, NOW)
    assert caught.value.params == {"taken": 2}
    booking.set_capacity(db, programme, slot.id, 3, NOW)
    db.refresh(slot)
    assert (slot.capacity, slot.taken) == (3, 3)
    assert db.scalar(sa.select(Reservation.status).where(Reservation.worker_id == c.id)) is ReservationStatus.BOOKED


def test_no_show_job_marks_only_bookings_past_the_late_grace_and_expires_begun_waiting_lists(db, vault, programme):
    venue = make_venue(db)
    over = make_slot(db, venue, at("2021-02-08 10:00"), capacity=1)
    ongoing = make_slot(db, venue, at("2021-02-08 11:00"), capacity=1)
    used = make_slot(db, make_venue(db), at("2021-02-08 10:00"), capacity=5)
    missed_worker, ongoing_worker, used_worker, waiter = (make_booker(db, vault, programme) for _ in range(4))
    missed = booking.book(db, programme, missed_worker, over.id, NOW)
    still = booking.book(db, programme, ongoing_worker, ongoing.id, NOW)
    redeemed = booking.book(db, programme, used_worker, used.id, NOW)
    redeemed.status = ReservationStatus.REDEEMED
    booking.join_waitlist(db, programme, waiter, ongoing.id, NOW)
    db.flush()
    summary = mark_no_shows(db, programme, at("2021-02-08 11:30"))  # 10:00–11:00 + 30 min grace
    assert (summary["no_shows"], summary["waitlist_expired"]) == (1, 1)
    for reservation in (missed, still, redeemed):
        db.refresh(reservation)
    assert (missed.status, still.status, redeemed.status) == (
        ReservationStatus.NO_SHOW, ReservationStatus.BOOKED, ReservationStatus.REDEEMED)
    assert missed.no_show_at == at("2021-02-08 11:30")
    db.refresh(over)
    assert over.taken == 1  # a no-show releases no place: the slot is over
    assert mark_no_shows(db, programme, at("2021-02-08 11:40")) == {
        "no_shows": 0, "waitlist_expired": 0, "at": at("2021-02-08 11:40").isoformat()}


def test_the_no_show_job_is_declared_for_the_scheduler():
    from wzcheckin.venues.jobs import JOBS

    job = next(job for job in JOBS if job.id == "venues.no_shows")
    assert (job.func, job.trigger, job.trigger_args) == (mark_no_shows, "interval", {"minutes": 10})


def test_the_database_refuses_an_overbooked_slot_even_without_the_condition(db, vault, programme):
    slot = make_slot(db, make_venue(db), at("2021-02-08 10:00"), capacity=1)
    db.commit()
    with pytest.raises(sa.exc.IntegrityError):
        db.execute(sa.update(Slot).where(Slot.id == slot.id).values(taken=2))
        db.flush()
    db.rollback()


def test_a_promotion_never_waits_for_a_worker_busy_in_another_transaction(db, vault, programme, backend):
    """PostgreSQL row locks (SQLite runs one writer at a time, so nothing can be busy there)."""
    if backend != "postgresql":
        pytest.skip("concurrent row locks need PostgreSQL")
    from sqlalchemy.orm import Session

    from wzcheckin.accounts.models import Worker

    slot = make_slot(db, make_venue(db), at("2021-02-08 10:00"), capacity=1)
    holder, busy, next_in_line = (make_booker(db, vault, programme) for _ in range(3))
    held = booking.book(db, programme, holder, slot.id, NOW)
    booking.join_waitlist(db, programme, busy, slot.id, at("2021-02-08 09:01"))
    booking.join_waitlist(db, programme, next_in_line, slot.id, at("2021-02-08 09:02"))
    db.commit()
    other = Session(bind=db.get_bind())
    try:
        other.execute(sa.select(Worker.id).where(Worker.id == busy.id).with_for_update())  # busy elsewhere
        db.execute(sa.text("SET LOCAL lock_timeout = '5s'"))  # a wait would fail here, not hang
        booking.cancel(db, programme, held, at("2021-02-08 09:30"))
        db.commit()
    finally:
        other.rollback()
        other.close()
    booked = db.scalar(sa.select(Reservation.worker_id).where(Reservation.slot_id == slot.id,
                                                               Reservation.status == ReservationStatus.BOOKED))
    assert booked == next_in_line.id
    waiting = db.scalar(sa.select(WaitlistEntry.status).where(WaitlistEntry.worker_id == busy.id))
    assert waiting is WaitlistStatus.WAITING  # keeps their place in line
