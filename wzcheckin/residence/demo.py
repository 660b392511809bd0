"""Residence room, demo data: gate scans in the first evidence window for the first enterprise's
workers (so its retention preview has something to show) and one recorded departure.
Idempotent: scans have fixed ids and the departure is recorded once."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from wzcheckin.accounts.models import User
from wzcheckin.core.roles import Role
from wzcheckin.residence.departures import active_departure
from wzcheckin.residence.models import Departure
from wzcheckin.scanning.models import Checkpoint, Scan, ScanResult


def load(session, vault, programme, now, demo) -> None:
    if not demo.enterprises or not demo.workers:
        return
    first = next(iter(demo.enterprises.values()))
    gate = session.scalar(sa.select(Checkpoint).where(Checkpoint.ref == first.gate_ref))
    gatekeeper = None
    if gate is not None:
        gatekeeper = session.scalar(sa.select(User).where(User.checkpoint_id == gate.id, User.role == Role.GATEKEEPER))
    window_start, window_end = programme.window_bounds(programme.evidence_windows[0])
    if gate is not None and gatekeeper is not None:
        workers = [worker for worker in demo.workers if worker.enterprise_id == first.id]
        for index, worker in enumerate(workers[:-1]):  # the last one still needs a scan
            scanned_at = window_start + timedelta(days=2, hours=8 + index % 3, minutes=7 * index)
            if scanned_at >= min(window_end, now):
                continue
            scan_id = f"demo-residence-{worker.public_id}"
            if session.scalar(sa.select(Scan.id).where(Scan.scan_id == scan_id)) is not None:
                continue
            session.add(Scan(scan_id=scan_id, checkpoint_id=gate.id, staff_user_id=gatekeeper.id,
                             scanned_at=scanned_at, received_at=scanned_at, token_kind="pass", worker_id=worker.id,  # noqa: S106 - a token kind
                             result=ScanResult.ACCEPTED, reason="entry_allowed", is_evidence=True, mask=True,
                             subject={"type": "worker"}))
    leaver = demo.workers[-1]
    if active_departure(session, leaver.id) is None and now < programme.cutoff:
        recorder = leaver.user  # as if the worker had recorded it on their phone
        session.add(Departure(worker_id=leaver.id, departed_on=min(programme.local_date(now),
                                                                   programme.evidence_windows[0].end),
                              note="demo", recorded_at=now, recorded_by_user_id=recorder.id,
                              recorded_by_role=str(recorder.role)))
    session.flush()
