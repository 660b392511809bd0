"""Residence room, command line: ``wzcheckin cutoff run|correct``, ``wzcheckin appeals
list|decide`` and ``wzcheckin report headcounts`` (SPEC §6)."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime

import click

from wzcheckin import clock
from wzcheckin.core import context
from wzcheckin.core.cli import emit_json, fail, progress
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db
from wzcheckin.residence.appeals import appeal_json, decide_appeal, list_appeals
from wzcheckin.residence.corrections import correct
from wzcheckin.residence.cutoff import STATUS_CHUNK, CutoffError, run_snapshot
from wzcheckin.residence.errors import ResidenceError
from wzcheckin.residence.models import Appeal, AppealStatus, Snapshot
from wzcheckin.residence.queries import HEADCOUNT_CSV_HEADER, iter_headcounts, latest_figures, latest_snapshot


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
    programme = context.programme()
    as_of = _parse_instant(at, programme) or programme.cutoff
    now = clock.now()
    progress(f"residence confirmation as of {as_of.isoformat()} (now {now.isoformat()})")
    try:
        summary = run_snapshot(db.session, programme, as_of=as_of, now=now, started_by="cli", progress=progress,
                               status_chunk=chunk_size or STATUS_CHUNK)
    except CutoffError as exc:
        fail(exc.english())
    emit_json(summary)


@click.command("correct")
def cutoff_correct_command():
    """Apply decided appeals, hukou reviews and departures found later as a new numbered correction
    of the official snapshot; print a JSON summary ({"version", "changes": [...]}). Idempotent."""
    now = clock.now()
    try:
        with unit_of_work(db.session):
            summary = correct(db.session, context.programme(), now=now, created_by="cli")
    except ResidenceError as error:
        fail(error.message)
    if summary.get("created"):
        progress(f"correction {summary['version']}: {len(summary['changes'])} worker(s) changed")
    else:
        progress("nothing new decided: no new correction")
    emit_json(summary)


@click.command("list")
@click.option("--status", type=click.Choice(["open", "accepted", "rejected"]), default=None)
def appeals_list_command(status: str | None):
    """Appeals, oldest first, as JSON ([{"id", "kind", "status", ...}])."""
    appeals = list_appeals(db.session, AppealStatus(status) if status else None, limit=100_000)
    emit_json([appeal_json(appeal) for appeal in appeals])


@click.command("decide")
@click.argument("appeal_id", type=int)
@click.option("--accept", "decision", flag_value="accept", help="Accept the appeal.")
@click.option("--reject", "decision", flag_value="reject", help="Reject the appeal.")
@click.option("--reason", required=True, help="Why; the appellant is told it.")
def appeals_decide_command(appeal_id: int, decision: str | None, reason: str):
    """Decide an open appeal (the next `cutoff correct` applies an accepted one); prints it as JSON."""
    if decision is None:
        fail("say --accept or --reject")
    try:
        with unit_of_work(db.session):
            appeal = db.session.get(Appeal, appeal_id)
            if appeal is None:
                fail(f"no appeal {appeal_id}")
            decide_appeal(db.session, context.programme(), appeal=appeal, accept=decision == "accept",
                          reason=reason, now=clock.now(), actor_role="cli")
            result = appeal_json(appeal)
    except ResidenceError as error:
        fail(error.message)
    emit_json(result)


@click.command("headcounts")
@click.option("--format", "output_format", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--snapshot", "snapshot_id", type=int, default=None, help="A snapshot id (default: the latest).")
def report_headcounts_command(output_format: str, snapshot_id: int | None):
    """The latest snapshot's per-enterprise headcounts (credit_code,name,ownership,retained,tier,amount_yuan);
    the latest correction's once there is one."""
    programme = context.programme()
    snapshot = db.session.get(Snapshot, snapshot_id) if snapshot_id else latest_snapshot(db.session, programme)
    if snapshot is None or not snapshot.is_complete:
        local_cutoff = programme.cutoff.astimezone(programme.tz).strftime("%Y-%m-%d %H:%M %Z")
        fail(f"no snapshot yet: the cutoff is on {local_cutoff} (run `wzcheckin cutoff run` after it)")
    progress(f"snapshot {snapshot.id}: {snapshot.kind.value}, as of {snapshot.as_of.isoformat()}")
    if snapshot_id:
        rows = iter_headcounts(db.session, snapshot.id)
    else:
        correction, rows = latest_figures(db.session, snapshot)
        if correction is not None:
            progress(f"correction {correction.version}, as of {correction.as_of.isoformat()}")
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


def register(groups) -> None:
    cutoff = click.Group("cutoff", help="Residence confirmation at the cutoff (SPEC §3).")
    cutoff.add_command(cutoff_run_command)
    cutoff.add_command(cutoff_correct_command)
    appeals = click.Group("appeals", help="Appeals against the cutoff's decision (SPEC §3).")
    appeals.add_command(appeals_list_command)
    appeals.add_command(appeals_decide_command)
    report = click.Group("report", help="Reports from the latest snapshot.")
    report.add_command(report_headcounts_command)
    for command in (cutoff, appeals, report):
        groups.root.add_command(command)
