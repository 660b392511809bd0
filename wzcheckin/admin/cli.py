"""Admin room, command line: ``wzcheckin export DATASET`` — the desk's exports for lists too big for
a web request (the whole city's worker statuses as XLSX, say), audited like the web's (actor
``cli``) — and ``wzcheckin report figures``, the figures page's tables as of any instant."""

from __future__ import annotations

import csv
import os
import shutil
import sys

import click
from flask.cli import with_appcontext

from wzcheckin import clock
from wzcheckin.admin import figures, stats
from wzcheckin.admin.exports import (
    DATASETS,
    ExportContext,
    ExportUnavailable,
    ReasonRefused,
    clean_reason,
    export_details,
    record_export,
)
from wzcheckin.admin.spreadsheets import csv_cell, csv_chunks, write_xlsx
from wzcheckin.core import context
from wzcheckin.core.cli import CliGroups, emit_json, fail, open_private_file, progress
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db


@click.command("export")
@click.argument("dataset_name", metavar="DATASET")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), default=None,
              help="Write the file here (required for XLSX). Default: the CSV on standard output.")
@click.option("--full", is_flag=True, help="Unmasked: full names, ID and phone numbers (needs --reason; logged).")
@click.option("--reason", default=None, help="Why the full numbers are needed (stored in the audit log).")
@click.option("--from", "first", default=None, metavar="YYYY-MM-DD", help="First day of the daily tables.")
@click.option("--to", "last", default=None, metavar="YYYY-MM-DD", help="Last day of the daily tables.")
def export_command(dataset_name: str, fmt: str, output: str | None, full: bool, reason: str | None,
                   first: str | None, last: str | None):
    """One of the officials' exports (masked unless --full), written to the audit log.

    DATASET is one of the names on /admin/exports, e.g. worker-statuses, enterprise-headcounts,
    welfare-handouts, data-bonus-claims, registrations-by-enterprise, scans-by-day.
    """
    dataset = DATASETS.get(dataset_name)
    if dataset is None:
        fail(f"unknown dataset {dataset_name!r}; one of: {', '.join(DATASETS)}")
    if fmt == "xlsx" and output is None:
        fail("an XLSX needs --output FILE")
    if full and not dataset.personal:
        fail(f"{dataset.name} names nobody: there is nothing to unmask")
    if full:
        try:
            reason = clean_reason(reason)
        except ReasonRefused as error:
            fail(f"--full needs --reason: why the full numbers are needed ({error.code})")
    programme, now = context.programme(), clock.now()
    day_range, ok = stats.parse_range(programme, now, first, last)
    if not ok:
        fail("--from/--to: dates as YYYY-MM-DD, the first not after the last, at most a year apart")
    ctx = ExportContext(db.session, programme, context.vault(), now, day_range,
                        stats.dashboard_snapshot(db.session, programme))
    try:
        plan = dataset.plan(ctx, full)
    except ExportUnavailable:
        fail("no snapshot yet: run `wzcheckin cutoff run` after the cutoff (or wait for the nightly preview)")
    details = export_details(dataset, plan, fmt, reveal=full, reason=reason)

    def audit(rows: int) -> None:
        with unit_of_work(db.session):
            record_export(db.session, name=dataset.name, details=details, rows=rows, at=now, actor_role="cli")

    progress(f"{dataset.name}: {plan.count} rows, {'UNMASKED' if full else 'masked'}")
    # The file is created first — exclusively, mode 0600, never over an existing file or through
    # a symlink — so a refusal writes and audits nothing.
    target = open_private_file(output) if output else sys.stdout.buffer
    try:
        if fmt == "xlsx":
            temporary, rows = write_xlsx(str(dataset.title), dataset.header, plan.rows())
            with temporary:
                audit(rows)  # recorded before the file holds anything anyone can read
                shutil.copyfileobj(temporary, target)
        else:
            audit(plan.count)
            rows = plan.count
            for chunk in csv_chunks(dataset.header, plan.rows(), bom=bool(output)):
                target.write(chunk)
    except BaseException:
        if output:
            target.close()
            os.unlink(output)  # ours: created exclusively above
        raise
    if output:
        target.close()
    else:
        target.flush()
        return  # the CSV ends the output
    emit_json({"dataset": dataset.name, "format": fmt, "rows": rows, "masked": not full, "file": output})


@click.command("figures")
@with_appcontext
@click.option("--as-of", "as_of_text", default=None, metavar="ISO-8601",
              help="The instant the figures describe (default: now). Without a UTC offset it is read in the "
                   "programme's timezone; a date alone is its 00:00.")
@click.option("--format", "output_format", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option("--figure", "names", multiple=True,
              type=click.Choice(["staying", "retention", "health", "complaints"]),
              help="Only this figure (repeatable). Default: all four.")
def report_figures_command(as_of_text: str | None, output_format: str, names: tuple[str, ...]):
    """Workers staying per day, retention by district and enterprise, health alerts per district per
    day and wage complaints per district, as of an instant: JSON (one object), or CSV in one long
    table (figure,as_of,day,district,credit_code,enterprise,measure,value)."""
    programme, now = context.programme(), clock.now()
    try:
        as_of = figures.parse_as_of(programme, as_of_text, now)
    except figures.InstantRefused as error:
        if error.code == "instant_future":
            fail(f"--as-of: {as_of_text!r} has not come yet (now is {now.isoformat()})")
        fail(f"--as-of: not an ISO-8601 instant: {as_of_text!r}")
    chosen = tuple(name for name in figures.FIGURES if not names or name in names)
    progress(f"figures as of {as_of.isoformat()}: {', '.join(chosen)}")
    result = figures.compute(db.session, programme, as_of, chosen)
    if result.retention is not None:
        retention = result.retention
        progress(f"retention: {retention.basis}, decided as of {retention.decided_as_of.isoformat()}"
                 + (f", correction {retention.correction_version}" if retention.correction_version else ""))
    if output_format == "json":
        emit_json(result.record())
        return
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(figures.FIGURES_CSV_HEADER)
    # An enterprise's name is its own text: a cell that looks like a formula is neutralised.
    writer.writerows([csv_cell(value) for value in row] for row in result.csv_rows())
    sys.stdout.flush()


def register(groups: CliGroups) -> None:
    groups.root.add_command(export_command)
    # ``report`` is the residence room's group (report headcounts, and review's report budget).
    report = groups.root.commands.get("report")
    if report is None:
        report = click.Group("report", help="Reports.")
        groups.root.add_command(report)
    report.add_command(report_figures_command)
