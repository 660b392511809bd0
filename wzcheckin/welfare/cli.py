"""Welfare room, command line: ``wzcheckin import pickup-points FILE.csv``."""

from __future__ import annotations

import click

from wzcheckin.core.cli import CliGroups, run_import
from wzcheckin.welfare.services import import_pickup_points


def _import_pickup_points(session, text, now, on_progress):
    return import_pickup_points(session, text, now, on_progress)


@click.command("pickup-points")
@click.argument("csv_file", type=click.Path(dir_okay=False))
def import_pickup_points_command(csv_file: str):
    """Welfare-pack pickup points (code,name,district,address,stock); creates pickup:<code>.
    stock is the number of packs delivered to the point; re-importing updates it."""
    run_import("pickup-points", csv_file, _import_pickup_points)


def register(groups: CliGroups) -> None:
    groups.import_.add_command(import_pickup_points_command)
