"""Effective-dated facts (SPEC §3): a change closes the open version and opens a new one; never an
edit in place; and two changes of one fact at once cannot both open a version — on both databases,
with two real connections."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.builders import make_worker
from tests.support.clock import at
from wzcheckin.accounts.facts import record_worker_facts
from wzcheckin.accounts.models import Worker, WorkerFacts
from wzcheckin.core.facts import FactConflict, true_at
from wzcheckin.db import unit_of_work


def versions(db, worker_id):
    db.rollback()
    return db.scalars(sa.select(WorkerFacts).where(WorkerFacts.worker_id == worker_id)
                      .order_by(WorkerFacts.valid_from, WorkerFacts.id)).all()


def test_a_change_closes_the_open_version_and_opens_a_new_one(db, vault, programme):
    worker = make_worker(db, vault, programme, now=at("2021-01-20 09:00"))
    worker.pledged_at = None
    record_worker_facts(db, worker, now=at("2021-02-01 09:00"), source="test")
    assert not record_worker_facts(db, worker, now=at("2021-02-02 09:00"), source="test")  # nothing changed
    db.commit()
    first, second = versions(db, worker.id)
    assert (first.pledged, first.valid_to) == (True, at("2021-02-01 09:00"))
    assert (second.pledged, second.valid_from, second.valid_to) == (False, at("2021-02-01 09:00"), None)
    held = lambda instant: db.scalar(sa.select(WorkerFacts.pledged).where(  # noqa: E731
        WorkerFacts.worker_id == worker.id, true_at(WorkerFacts, instant)))
    assert held(at("2021-01-31 09:00")) is True
    assert held(at("2021-02-01 09:00")) is True      # a fact recorded at an instant is known just after it
    assert held(at("2021-02-01 09:00") + timedelta(microseconds=1)) is False


def test_two_changes_of_one_fact_at_once_leave_exactly_one_open_version(app, db, vault, programme):
    worker = make_worker(db, vault, programme, now=at("2021-01-20 09:00"))
    db.commit()
    worker_id = worker.id  # read here: the test's own session is not for the threads to touch
    engine = db.get_bind()
    barrier = threading.Barrier(2)
    outcomes = []
    # PostgreSQL: both read the open version, then race to close it. SQLite: one writer at a time
    # (BEGIN IMMEDIATE), so both start together and the second waits for the lock.
    race_after_reading = engine.dialect.name == "postgresql"

    def change(pledged: bool, minute: int) -> None:
        with Session(engine) as session:
            try:
                if not race_after_reading:
                    barrier.wait(timeout=10)
                with unit_of_work(session):
                    row = session.get(Worker, worker_id)
                    if race_after_reading:
                        barrier.wait(timeout=10)
                    row.pledged_at = at("2021-01-20 09:00") if pledged else None
                    record_worker_facts(session, row, now=at(f"2021-02-01 09:{minute:02d}"), source="test")
                outcomes.append("written")
            except (FactConflict, sa.exc.OperationalError):
                outcomes.append("refused")

    threads = [threading.Thread(target=change, args=(False, 1)), threading.Thread(target=change, args=(False, 2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    rows = versions(db, worker_id)
    assert sum(1 for row in rows if row.valid_to is None) == 1
    assert outcomes.count("written") >= 1 and len(outcomes) == 2
    for earlier, later in itertools.pairwise(rows):
        assert earlier.valid_to == later.valid_from  # no gap, no overlap


def test_a_fact_cannot_change_before_its_current_version_began(db, vault, programme):
    worker = make_worker(db, vault, programme, now=at("2021-02-01 09:00"))
    worker.pledged_at = None
    with pytest.raises(ValueError):
        record_worker_facts(db, worker, now=at("2021-01-01 09:00"), source="test")
