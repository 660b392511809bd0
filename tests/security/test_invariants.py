"""The business invariants as a hypothesis state machine driving the domain functions directly,
one unit of work per step, on SQLite and PostgreSQL: any sequence of bookings, cancellations,
waiting lists, capacity changes, closures, pack hand-outs and points awards keeps

* places taken = active bookings ≤ capacity, for every slot;
* one pack per worker, the stock never negative, stock + handed out = delivered;
* every ledger balance = the sum of its entries = what was awarded, each award key once.

The races themselves (the same steps at once from many processes) are in test_races.py and the
rooms' race tests; this explores the orders of steps.
"""

from __future__ import annotations

import itertools
import os
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from tests.builders import make_user
from tests.venues.builders import make_booker, make_slot, make_venue
from tests.welfare.builders import make_pickup_point, make_pickup_staff
from wzcheckin.benefits.models import PointsEntry
from wzcheckin.benefits.points import award_points, points_balance
from wzcheckin.core.roles import Role
from wzcheckin.db import unit_of_work
from wzcheckin.venues import booking
from wzcheckin.venues.errors import BookingRefused, VenueError
from wzcheckin.venues.models import ACTIVE_STATUSES, Reservation, Slot
from wzcheckin.welfare.models import PackHandout, PickupPoint
from wzcheckin.welfare.services import PackRefused, hand_out_pack

NOW = datetime(2021, 2, 5, 2, 0, tzinfo=UTC)
EXAMPLES = int(os.environ.get("WZCHECKIN_STATE_MACHINE_EXAMPLES", "20"))
_keys = itertools.count(1)


def invariants_machine(session, vault, programme):
    class Invariants(RuleBasedStateMachine):
        workers = Bundle("workers")
        slots = Bundle("slots")
        points = Bundle("points")

        @initialize()
        def world(self):
            self.run = next(_keys)
            self.delivered: dict[int, int] = {}
            self.awarded: dict[int, int] = {}       # worker id → points awarded
            self.award_keys: set[str] = set()
            self.worker_ids: list[int] = []
            self.slot_ids: list[int] = []
            with unit_of_work(session):
                self.staff = make_user(session, vault, Role.OFFICIAL)

        @rule(target=workers)
        def new_worker(self):
            with unit_of_work(session):
                worker = make_booker(session, vault, programme, activated=False)
            self.worker_ids.append(worker.id)
            self.awarded[worker.id] = 0
            return worker

        @rule(target=slots, capacity=st.integers(1, 3), days=st.integers(1, 4))
        def new_slot(self, capacity, days):
            with unit_of_work(session):
                slot = make_slot(session, make_venue(session), NOW + timedelta(days=days), capacity=capacity)
            self.slot_ids.append(slot.id)
            return slot.id

        @rule(target=points, stock=st.integers(0, 3))
        def new_point(self, stock):
            with unit_of_work(session):
                point = make_pickup_point(session, stock=stock)
                staff = make_pickup_staff(session, vault, point)
            self.delivered[point.id] = stock
            return point.id, staff

        @rule(worker=workers, slot_id=slots)
        def book(self, worker, slot_id):
            try:
                with unit_of_work(session):
                    booking.book(session, programme, worker, slot_id, NOW)
            except BookingRefused:
                pass

        @rule(worker=workers, slot_id=slots)
        def wait(self, worker, slot_id):
            try:
                with unit_of_work(session):
                    booking.join_waitlist(session, programme, worker, slot_id, NOW)
            except BookingRefused:
                pass

        @rule(pick=st.integers(0, 10_000))
        def cancel(self, pick):
            """Cancel one of the bookings this run made (or one already cancelled: a refusal)."""
            if not self.slot_ids:
                return
            bookings = session.scalars(sa.select(Reservation).where(Reservation.slot_id.in_(self.slot_ids))
                                       .order_by(Reservation.id)).all()
            session.rollback()
            if not bookings:
                return
            reservation = bookings[pick % len(bookings)]
            try:
                with unit_of_work(session):
                    booking.cancel(session, programme, reservation, NOW)
            except BookingRefused:
                pass

        @rule(slot_id=slots, capacity=st.integers(1, 4))
        def change_capacity(self, slot_id, capacity):
            try:
                with unit_of_work(session):
                    booking.set_capacity(session, programme, slot_id, capacity, NOW)
            except VenueError:
                pass

        @rule(slot_id=slots)
        def close(self, slot_id):
            try:
                with unit_of_work(session):
                    booking.close_slot(session, programme, slot_id, "闭馆维护", NOW, closed_by=self.staff)
            except (VenueError, BookingRefused):
                pass

        @rule(worker=workers, point=points)
        def hand_out(self, worker, point):
            point_id, staff = point
            try:
                with unit_of_work(session):
                    hand_out_pack(session, point=session.get(PickupPoint, point_id), worker=worker, staff=staff,
                                  scan_id=f"sm-{next(_keys)}", at=NOW)
            except PackRefused:
                pass

        @rule(worker=workers, amount=st.integers(-5, 10), key=st.integers(0, 3))
        def award(self, worker, amount, key):
            award_key = f"test:{self.run}:{worker.id}:{key}"
            with unit_of_work(session):
                entry = award_points(session, worker_id=worker.id, amount=amount, reason="test", source="test",
                                     award_key=award_key, now=NOW)
            if award_key in self.award_keys:
                assert entry is None, "an award key was awarded twice"
            else:
                assert entry is not None
                self.award_keys.add(award_key)
                self.awarded[worker.id] += amount

        @invariant()
        def places_taken_are_the_active_bookings_within_capacity(self):
            if not getattr(self, "slot_ids", None):
                return
            rows = session.execute(
                sa.select(Slot.id, Slot.taken, Slot.capacity,
                          sa.select(sa.func.count()).where(Reservation.slot_id == Slot.id,
                                                           Reservation.status.in_(ACTIVE_STATUSES))
                          .correlate(Slot).scalar_subquery())
                .where(Slot.id.in_(self.slot_ids))).all()
            session.rollback()
            for slot_id, taken, capacity, active in rows:
                assert taken == active, f"slot {slot_id}: taken {taken}, active bookings {active}"
                assert taken <= capacity, f"slot {slot_id}: {taken} taken of {capacity}"

        @invariant()
        def one_pack_per_worker_and_stock_never_negative(self):
            if not getattr(self, "delivered", None):
                return
            points = session.execute(sa.select(PickupPoint.id, PickupPoint.stock, PickupPoint.handed_out).where(
                PickupPoint.id.in_(self.delivered))).all()
            per_point = dict(session.execute(sa.select(PackHandout.pickup_point_id, sa.func.count()).where(
                PackHandout.pickup_point_id.in_(self.delivered)).group_by(PackHandout.pickup_point_id)).all())
            twice = session.scalar(sa.select(sa.func.count()).select_from(
                sa.select(PackHandout.worker_id).group_by(PackHandout.worker_id)
                .having(sa.func.count() > 1).subquery()))
            session.rollback()
            assert twice == 0, "a worker has two packs"
            for point_id, stock, handed_out in points:
                assert stock >= 0
                assert stock + handed_out == self.delivered[point_id]
                assert handed_out == per_point.get(point_id, 0)

        @invariant()
        def balance_is_the_sum_of_entries_and_each_key_once(self):
            if not getattr(self, "worker_ids", None):
                return
            for worker_id in self.worker_ids:
                assert points_balance(session, worker_id) == self.awarded[worker_id]
            repeated = session.scalar(sa.select(sa.func.count()).select_from(
                sa.select(PointsEntry.award_key).group_by(PointsEntry.award_key)
                .having(sa.func.count() > 1).subquery()))
            session.rollback()
            assert repeated == 0

    return Invariants


def test_the_invariants_hold_through_any_sequence_of_steps(db, vault, programme):
    run_state_machine_as_test(
        invariants_machine(db, vault, programme),
        settings=settings(max_examples=EXAMPLES, stateful_step_count=25, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
