"""Residence room: departures (离温). A worker who leaves Wenzhou before the cutoff is not
retained; the worker records it, or the enterprise admin for a worker on its roster. Every
record and withdrawal is audited. Recording closes at the cutoff: the snapshot reads only
departures recorded before it.

Withdrawing: the worker may withdraw any record about themself; an employer only a record its
own enterprise made — a worker's own record stays (an employer gains a headcount by deleting
one). A withdrawal is never a deletion: the row keeps who withdrew it and when, and the worker
and officials are shown it (``queries.withdrawn_departures``, ``queries.withdrawal_page``)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.facts import active_departure
from wzcheckin.accounts.models import Departure, User, Worker
from wzcheckin.core.audit import record_audit
from wzcheckin.core.refusals import insert_or_refuse
from wzcheckin.core.roles import Role
from wzcheckin.directory.models import Checkpoint, Enterprise
from wzcheckin.programme import Programme
from wzcheckin.residence.errors import ResidenceError

MAX_NOTE_LENGTH = 200


def _check_actor(worker: Worker, actor: User, enterprise: Enterprise | None) -> None:
    if actor.role is Role.WORKER:
        if worker.user_id != actor.id:
            raise ResidenceError("not_on_roster")
        return
    if actor.role is Role.ENTERPRISE_ADMIN:
        if enterprise is None or worker.enterprise_id != enterprise.id or not worker.employment_confirmed:
            raise ResidenceError("not_on_roster")
        return
    raise ResidenceError("not_on_roster")


def insert_departure(session: Session, *, worker: Worker, departed_on: date, note: str, actor: User, now: datetime,
                     action: str, ip: str | None = None) -> Departure:
    """The departure row and its audit entry, for a record checked by the caller.

    Concurrency: the partial UNIQUE index (one active departure per worker) decides between two
    simultaneous records; the insert runs in a savepoint and the loser gets ``already_departed``.
    """
    if active_departure(session, worker.id) is not None:
        raise ResidenceError("already_departed")
    departure = Departure(worker_id=worker.id, departed_on=departed_on, note=note, recorded_at=now,
                          recorded_by_user_id=actor.id, recorded_by_role=str(actor.role))
    # A partial UNIQUE index (the active departure per worker): recorded once, even from two desks at once.
    insert_or_refuse(session, ResidenceError("already_departed"), departure)
    record_audit(session, at=now, actor=actor, action=action, target_type="worker", target_id=worker.id,
                 details={"departed_on": departed_on.isoformat(), "departure": departure.id}, ip=ip)
    return departure


def record_departure(session: Session, programme: Programme, *, worker: Worker, departed_on: date | None,
                     note: str, actor: User, now: datetime, enterprise: Enterprise | None = None,
                     ip: str | None = None) -> Departure:
    """Record that ``worker`` left Wenzhou on ``departed_on`` (a local date).

    Concurrency: the partial UNIQUE index (one active departure per worker) decides between two
    simultaneous records; the loser gets ``already_departed``.
    """
    _check_actor(worker, actor, enterprise)
    if now >= programme.cutoff:
        raise ResidenceError("cutoff_passed")
    if departed_on is None:
        raise ResidenceError("date_required", field="departed_on")
    if departed_on > programme.local_date(now):
        raise ResidenceError("departure_in_future", field="departed_on")
    if departed_on < programme.programme.starts:
        raise ResidenceError("departure_before_programme", field="departed_on")
    note = (note or "").strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise ResidenceError("note_too_long", field="note")
    departure = insert_departure(session, worker=worker, departed_on=departed_on, note=note, actor=actor, now=now,
                                 action="residence.departure.record", ip=ip)
    return departure


def withdraw_departure(session: Session, programme: Programme, *, worker: Worker, actor: User, now: datetime,
                       enterprise: Enterprise | None = None, ip: str | None = None) -> Departure:
    """Withdraw the worker's active departure (recorded in error, or the worker did not go): the
    worker any record about themself, an enterprise admin only its enterprise's own record
    (``not_your_record``).

    Concurrency: a conditional UPDATE (still active) so two withdrawals cannot both succeed.
    """
    _check_actor(worker, actor, enterprise)
    if now >= programme.cutoff:
        raise ResidenceError("cutoff_passed")
    departure = active_departure(session, worker.id)
    if departure is None:
        raise ResidenceError("no_departure")
    if actor.role is Role.ENTERPRISE_ADMIN and not recorded_by_enterprise(session, departure, enterprise):
        raise ResidenceError("not_your_record")
    changed = session.execute(
        sa.update(Departure).where(Departure.id == departure.id, Departure.withdrawn_at.is_(None))
        .values(withdrawn_at=now, withdrawn_by_user_id=actor.id).execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise ResidenceError("no_departure")
    session.refresh(departure)
    record_audit(session, at=now, actor=actor, action="residence.departure.withdraw", target_type="worker",
                 target_id=worker.id, details={"departure": departure.id, "recorded_by": departure.recorded_by_role},
                 ip=ip)
    return departure


def recorded_by_enterprise(session: Session, departure: Departure, enterprise: Enterprise | None) -> bool:
    """Did an admin of ``enterprise`` record this departure? (Admins belong to an enterprise
    through its gate checkpoint, so any admin of the same enterprise may correct its record.)"""
    if enterprise is None or departure.recorded_by_role != str(Role.ENTERPRISE_ADMIN):
        return False
    recorder_enterprise = session.scalar(
        sa.select(Checkpoint.enterprise_id).join(User, User.checkpoint_id == Checkpoint.id)
        .where(User.id == departure.recorded_by_user_id))
    return recorder_enterprise == enterprise.id
