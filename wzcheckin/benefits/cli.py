"""Benefits room, command line: ``wzcheckin import courses``, ``wzcheckin import services`` and
``wzcheckin points export``."""

from __future__ import annotations

import click

from wzcheckin import clock
from wzcheckin.benefits.courses import import_courses
from wzcheckin.benefits.directory import import_services
from wzcheckin.benefits.points import points_export_csv
from wzcheckin.core import context
from wzcheckin.core.audit import record_audit
from wzcheckin.core.cli import CliGroups, run_import
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db


def _import_courses(session, text, now, on_progress):
    return import_courses(session, text, now, on_progress)


def _import_services(session, text, now, on_progress):
    return import_services(session, text, now, on_progress)


@click.command("courses")
@click.argument("csv_file", type=click.Path(dir_okay=False))
def import_courses_command(csv_file: str):
    """Training courses (code,title,mode,provider,class_hours,cost_yuan,credit_code,district,address,
    starts_on,ends_on,capacity); offline courses get the checkpoint training:<code>."""
    run_import("courses", csv_file, _import_courses)


@click.command("services")
@click.argument("csv_file", type=click.Path(dir_okay=False))
def import_services_command(csv_file: str):
    """The services directory (kind,name,district,address,hours,contact,opens_on,closes_on,notes)."""
    run_import("services", csv_file, _import_services)


@click.group("points", help="The new-resident points ledger.")
def points_group():
    pass


@points_group.command("export")
@click.option("--reveal", is_flag=True, help="Full ID numbers, names and permit numbers (logged).")
@click.option("--reason", default=None, help="Only entries with this reason code.")
def points_export_command(reveal: bool, reason: str | None):
    """Print the ledger as CSV for the police new-resident points system (masked by default)."""
    now = clock.now()
    programme = context.programme()
    with unit_of_work(db.session):
        text, count = points_export_csv(db.session, context.vault(), reveal=reveal, reason=reason, tz=programme.tz)
        record_audit(db.session, at=now, action="points.export", actor_role="cli", target_type="points_ledger",
                     details={"entries": count, "reason": reason,
                              "revealed": ["id_number", "name", "residence_permit_no"] if reveal else []})
    click.echo(f"{count} entries", err=True)
    click.echo(text.lstrip("\ufeff"), nl=False)


def register(groups: CliGroups) -> None:
    groups.import_.add_command(import_courses_command)
    groups.import_.add_command(import_services_command)
    groups.root.add_command(points_group)
