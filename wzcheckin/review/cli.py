"""Review room, command line: ``wzcheckin risk signals``, ``wzcheckin risk compute`` and
``wzcheckin report budget`` (SPEC §6). Each command carries its app context
(``with_appcontext``), so it runs in-process under ``app.test_cli_runner()`` too."""

from __future__ import annotations

import csv
import sys

import click
from flask.cli import with_appcontext

from wzcheckin import clock
from wzcheckin.core import context
from wzcheckin.core.audit import record_audit
from wzcheckin.core.cli import emit_json, progress
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db
from wzcheckin.review.budget import BUDGET_CSV_HEADER, budget_rows, yuan_text
from wzcheckin.review.signals import compute_signals, latest_run, signal_record, signals_of


@click.command("signals")
@with_appcontext
@click.option("--credit-code", "credit_code", default=None, help="One enterprise's signals (统一社会信用代码).")
def risk_signals_command(credit_code: str | None):
    """The latest risk signals as JSON ([{"credit_code", "kind", "count", "explanation", ...}])."""
    run = latest_run(db.session)
    if run is None:
        progress("no risk signals computed yet (the scheduler computes them nightly; `wzcheckin risk compute` now)")
        emit_json([])
        return
    progress(f"signal run {run.id} ({run.kind}), computed {run.computed_at.isoformat()}")
    code = credit_code.strip().upper() if credit_code else None
    emit_json([signal_record(signal) for signal in signals_of(db.session, run, credit_code=code)])


@click.command("compute")
@with_appcontext
def risk_compute_command():
    """Compute every enterprise's risk signals now (a new run) and print its summary."""
    now = clock.now()
    with unit_of_work(db.session):
        run = compute_signals(db.session, context.programme(), now=now, kind="manual", progress=progress)
        record_audit(db.session, at=now, action="review.signals_compute", actor_role="cli",
                     target_type="review_signal_run", target_id=run.id, details=run.summary)
    emit_json({"run_id": run.id, **run.summary})


@click.command("budget")
@with_appcontext
@click.option("--format", "output_format", type=click.Choice(["csv", "json"]), default="json", show_default=True)
def report_budget_command(output_format: str):
    """Committed, approved and paid per policy (P6, P7, P8) and district
    (policy,district,committed_yuan,approved_yuan,paid_yuan)."""
    rows = budget_rows(db.session, context.programme())
    if output_format == "json":
        emit_json([row.record() for row in rows])
        return
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(BUDGET_CSV_HEADER)
    for row in rows:
        writer.writerow([row.policy, row.district, yuan_text(row.committed_fen), yuan_text(row.approved_fen),
                         yuan_text(row.paid_fen)])
    sys.stdout.flush()


def register(groups) -> None:
    risk = click.Group("risk", help="Risk signals per enterprise, for the review before payment.")
    risk.add_command(risk_signals_command)
    risk.add_command(risk_compute_command)
    groups.root.add_command(risk)
    # ``report`` is the residence room's group (report headcounts); the budget joins it.
    report = groups.root.commands.get("report")
    if report is None:
        report = click.Group("report", help="Reports.")
        groups.root.add_command(report)
    report.add_command(report_budget_command)
