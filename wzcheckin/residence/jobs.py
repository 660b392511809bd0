"""Residence room, scheduled jobs (run only by ``wzcheckin scheduler``): the cutoff, the nightly
preview, the daily evidence reminders and the SMS dispatcher."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import current_app

from wzcheckin.core import context
from wzcheckin.core.job_specs import JobSpec
from wzcheckin.core.sms import dispatch_outbox, load_gateway
from wzcheckin.db import unit_of_work
from wzcheckin.residence.cutoff import run_snapshot
from wzcheckin.residence.models import Snapshot, SnapshotKind, SnapshotPhase
from wzcheckin.residence.notices import queue_evidence_reminders

log = logging.getLogger("wzcheckin.residence.jobs")

def cutoff_job(session, programme, now) -> dict:
    return run_snapshot(session, programme, as_of=programme.cutoff, now=now, kind=SnapshotKind.OFFICIAL,
                        started_by="scheduler", progress=log.info)


def preview_job(session, programme, now) -> dict:
    """Before the cutoff, a city-wide preview as of now; older previews are dropped."""
    first_window_start = programme.window_bounds(programme.evidence_windows[0])[0]
    if now >= programme.cutoff or now < first_window_start:
        return {"skipped": "outside the evidence period"}
    summary = run_snapshot(session, programme, as_of=now, now=now, kind=SnapshotKind.PREVIEW,
                           started_by="scheduler", progress=log.info)
    with unit_of_work(session):
        dropped = session.execute(
            sa.delete(Snapshot).where(Snapshot.kind == SnapshotKind.PREVIEW, Snapshot.id != summary["snapshot_id"],
                                      sa.or_(Snapshot.phase == SnapshotPhase.COMPLETE, Snapshot.as_of < now))
        ).rowcount
    return {**summary, "previews_dropped": dropped}


def reminders_job(session, programme, now) -> dict:
    if now >= programme.cutoff:
        return {"skipped": "after the cutoff"}
    return queue_evidence_reminders(session, programme, now)


def dispatch_job(session, programme, now) -> dict:
    gateway = load_gateway(current_app.config.get("SMS_GATEWAY"))
    return dispatch_outbox(session, gateway, context.vault(), now)


JOBS = [
    JobSpec(
        id="residence.cutoff",
        func=cutoff_job,
        trigger="date",
        trigger_args={"run_date": "programme:cutoff"},
        description="Residence confirmation at the cutoff: snapshot, headcounts, P2 points, P7 notices",
        # Generous: a scheduler down over a long weekend still runs it when it comes back.
        misfire_grace_time=7 * 24 * 3600,
        own_transactions=True,
    ),
    JobSpec(
        id="residence.preview",
        func=preview_job,
        trigger="cron",
        trigger_args={"hour": 2, "minute": 30},
        description="Nightly preview: projected headcounts and tiers before the cutoff",
        misfire_grace_time=6 * 3600,
        own_transactions=True,
    ),
    JobSpec(
        id="residence.sms_reminders",
        func=reminders_job,
        trigger="cron",
        trigger_args={"hour": "programme:sms.reminder_hour_local", "minute": 0},
        description="Daily SMS reminder to workers with no evidence yet in the open window",
        misfire_grace_time=4 * 3600,
    ),
    JobSpec(
        id="residence.sms_dispatch",
        func=dispatch_job,
        trigger="interval",
        trigger_args={"minutes": 1},
        description="Hand queued text messages to the SMS gateway",
        misfire_grace_time=300,
        own_transactions=True,
    ),
]
