"""Enterprises and gates room, domain functions: the enterprise admin confirms or removes the
workers who named the enterprise as their employer (the roster the headcount counts, SPEC §3)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.accounts.facts import record_worker_facts
from wzcheckin.accounts.models import Worker
from wzcheckin.directory.models import Enterprise


class NotOnRoster(LookupError):
    """The worker is not on this enterprise's roster (or does not exist): a 404, never a hint."""


def roster_worker(session: Session, enterprise: Enterprise, worker_id: int) -> Worker:
    """Object-level check: only a worker of ``enterprise`` is found; anyone else is not."""
    worker = session.scalar(sa.select(Worker).where(Worker.id == worker_id, Worker.enterprise_id == enterprise.id))
    if worker is None:
        raise NotOnRoster(worker_id)
    return worker


def confirm_employee(session: Session, enterprise: Enterprise, worker_id: int, now: datetime,
                     by_user_id: int | None = None) -> Worker:
    worker = roster_worker(session, enterprise, worker_id)
    if not worker.employment_confirmed:
        worker.employment_confirmed = True
        worker.employment_confirmed_at = now
        worker.updated_at = now
    record_worker_facts(session, worker, now=now, source="roster_confirm", recorded_by_user_id=by_user_id)
    return worker


def remove_employee(session: Session, enterprise: Enterprise, worker_id: int, now: datetime,
                    by_user_id: int | None = None) -> Worker:
    """Takes the worker off the roster from ``now``: they no longer count for this enterprise's
    headcount at any later instant (an earlier decision is not touched: facts are versioned)."""
    worker = roster_worker(session, enterprise, worker_id)
    worker.enterprise_id = None
    worker.employment_confirmed = False
    worker.employment_confirmed_at = None
    worker.updated_at = now
    record_worker_facts(session, worker, now=now, source="roster_remove", recorded_by_user_id=by_user_id)
    return worker
