"""Scheduler, command line: ``wzcheckin scheduler [--once JOB_ID | --list]`` (SPEC §6)."""

from __future__ import annotations

import sys
from datetime import timedelta

import click
from flask import current_app

from wzcheckin import clock
from wzcheckin.core.cli import emit_json, fail, progress
from wzcheckin.scheduler.process import DEFAULT_SWEEP_SECONDS, declared_jobs, run_scheduler
from wzcheckin.scheduler.runs import DEFAULT_CLAIM_SECONDS, new_holder, run_job
from wzcheckin.scheduler.triggers import build_trigger


@click.command("scheduler")
@click.option("--once", "once", default=None, metavar="JOB_ID",
              help="Run this job now (for its latest scheduled instant) and exit; claims the run like the scheduler.")
@click.option("--list", "list_jobs", is_flag=True, help="Print the jobs and their next run times, and exit.")
@click.option("--claim-seconds", type=click.FloatRange(0.5, 3600), default=DEFAULT_CLAIM_SECONDS, show_default=True,
              help="How long a run's claim holds without its heartbeat before another scheduler may take the run over.")
@click.option("--sweep-seconds", type=click.FloatRange(0.2, 3600), default=DEFAULT_SWEEP_SECONDS, show_default=True,
              help="How often the scheduler looks for due runs that have not run (the catch-up).")
def scheduler_command(once: str | None, list_jobs: bool, claim_seconds: float, sweep_seconds: float):
    """Run the scheduler process: the only process that runs scheduled jobs."""
    app = current_app._get_current_object()
    programme = app.extensions["wzcheckin.programme"]
    specs = {spec.id: spec for spec in declared_jobs()}
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
        result = run_job(app, spec, holder=new_holder(), claim=timedelta(seconds=claim_seconds))
        emit_json(result)
        if result["outcome"] == "failed":
            sys.exit(1)
        return
    progress(f"scheduler starting with {len(specs)} job(s); Ctrl+C stops")
    run_scheduler(app, claim_seconds=claim_seconds, sweep_seconds=sweep_seconds)
