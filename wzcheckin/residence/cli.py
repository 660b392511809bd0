"""Residence room, command line: ``wzcheckin scheduler``, ``wzcheckin cutoff run``,
``wzcheckin report headcounts`` and ``wzcheckin sms dispatch`` (SPEC §6)."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime

import click
from flask import current_app

from wzcheckin import clock
from wzcheckin.cli import emit_json, fail, progress
from wzcheckin.core import context
from wzcheckin.extensions import db


def _parse_instant(value: str | None, programme) -> datetime | None:
    if value is None:
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--at: not an ISO-8601 instant: {value!r}")
    if instant.tzinfo is None:  # a local time in the programme's timezone
        instant = instant.replace(tzinfo=programme.tz)
    return instant.astimezone(UTC)


@click.command("run")
@click.option("--at", "at", default=None, metavar="ISO-8601",
              help="Confirm residence as of this instant (default: the programme's cutoff). Without a UTC "
                   "offset it is read in the programme's timezone.")
@click.option("--chunk-size", type=click.IntRange(1, 1_000_000), default=None, hidden=True,
              help="Workers per transaction (tests use small chunks).")
def cutoff_run_command(at: str | None, chunk_size: int | None):
    """Run residence confirmation now and print a JSON summary (idempotent, resumable)."""
    from wzcheckin.residence.cutoff import STATUS_CHUNK, CutoffError, run_snapshot

    programme = context.programme()
    as_of = _parse_instant(at, programme) or programme.cutoff
    now = clock.now()
    progress(f"residence confirmation as of {as_of.isoformat()} (now {now.isoformat()})")
    try:
        summary = run_snapshot(db.session, programme, as_of=as_of, now=now, started_by="cli", progress=progress,
                               status_chunk=chunk_size or STATUS_CHUNK)
    except CutoffError as exc:
        fail(str(exc))
    emit_json(summary)


@click.command("headcounts")
@click.option("--format", "output_format", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--snapshot", "snapshot_id", type=int, default=None, help="A snapshot id (default: the latest).")
def report_headcounts_command(output_format: str, snapshot_id: int | None):
    """The latest snapshot's per-enterprise headcounts (credit_code,name,ownership,retained,tier,amount_yuan)."""
    from wzcheckin.residence.models import Snapshot
    from wzcheckin.residence.queries import HEADCOUNT_CSV_HEADER, iter_headcounts, latest_snapshot

    programme = context.programme()
    snapshot = db.session.get(Snapshot, snapshot_id) if snapshot_id else latest_snapshot(db.session, programme)
    if snapshot is None or not snapshot.is_complete:
        local_cutoff = programme.cutoff.astimezone(programme.tz).strftime("%Y-%m-%d %H:%M %Z")
        fail(f"no snapshot yet: the cutoff is on {local_cutoff} (run `wzcheckin cutoff run` after it)")
    progress(f"snapshot {snapshot.id}: {snapshot.kind.value}, as of {snapshot.as_of.isoformat()}")
    rows = iter_headcounts(db.session, snapshot.id)
    if output_format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(HEADCOUNT_CSV_HEADER)
        for row in rows:
            writer.writerow([row.credit_code, row.name, row.ownership, row.retained, row.tier, row.amount_yuan])
        sys.stdout.flush()
        return
    out = sys.stdout
    out.write("[")
    for index, row in enumerate(rows):
        out.write(("," if index else "") + json.dumps(
            {"credit_code": row.credit_code, "name": row.name, "ownership": row.ownership,
             "retained": row.retained, "tier": row.tier, "amount_yuan": row.amount_yuan}, ensure_ascii=False))
    out.write("]\n")
    out.flush()


@click.command("scheduler")
@click.option("--once", "once", default=None, metavar="JOB_ID",
              help="Run this job now (for its latest scheduled instant) and exit; claims the run like the scheduler.")
@click.option("--list", "list_jobs", is_flag=True, help="Print the jobs and their next run times, and exit.")
@click.option("--lease-seconds", type=click.FloatRange(0.5, 3600), default=None,
              help="How long the active-scheduler lease lasts without renewal (default 30).")
def scheduler_command(once: str | None, list_jobs: bool, lease_seconds: float | None):
    """Run the scheduler process: the only process that runs scheduled jobs."""
    from datetime import timedelta

    from wzcheckin.scheduler import DEFAULT_LEASE_SECONDS, build_trigger, new_holder, run_job_now, run_scheduler
    from wzcheckin.scheduling import all_jobs

    app = current_app._get_current_object()
    programme = context.programme()
    specs = {spec.id: spec for spec in all_jobs()}
    lease = lease_seconds or DEFAULT_LEASE_SECONDS
    if list_jobs:
        now = clock.now()
        listing = []
        for spec in specs.values():
            next_fire = build_trigger(spec, programme).get_next_fire_time(None, now)
            listing.append({"id": spec.id, "trigger": spec.trigger, "next_run": next_fire.isoformat() if next_fire
                            else None, "description": spec.description})
        emit_json(listing)
        return
    if once is not None:
        spec = specs.get(once)
        if spec is None:
            fail(f"no job {once!r}; jobs: {', '.join(sorted(specs))}")
        result = run_job_now(app, spec, holder=new_holder(), lease=timedelta(seconds=lease))
        emit_json(result)
        if result["outcome"] == "failed":
            sys.exit(1)
        return
    progress(f"scheduler starting with {len(specs)} job(s); Ctrl+C stops")
    run_scheduler(app, lease_seconds=lease)


@click.command("dispatch")
@click.option("--limit", type=click.IntRange(1, 10_000_000), default=None, help="At most this many messages.")
def sms_dispatch_command(limit: int | None):
    """Hand queued text messages to the SMS gateway (WZCHECKIN_SMS_GATEWAY) now."""
    from wzcheckin.residence.sms import SmsGatewayError, dispatch_outbox, load_gateway

    try:
        gateway = load_gateway(current_app.config.get("SMS_GATEWAY"))
    except SmsGatewayError as exc:
        fail(str(exc))
    emit_json(dispatch_outbox(db.session, gateway, context.vault(), clock.now(), max_messages=limit))


def register(groups) -> None:
    cutoff = click.Group("cutoff", help="Residence confirmation at the cutoff (SPEC §3).")
    cutoff.add_command(cutoff_run_command)
    report = click.Group("report", help="Reports from the latest snapshot.")
    report.add_command(report_headcounts_command)
    sms = click.Group("sms", help="The SMS outbox.")
    sms.add_command(sms_dispatch_command)
    for command in (cutoff, report, sms, scheduler_command):
        groups.root.add_command(command)
