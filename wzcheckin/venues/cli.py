"""Venues room, command line: ``wzcheckin import venues FILE.csv`` and ``wzcheckin slots create``."""

from __future__ import annotations

import click

from wzcheckin import clock
from wzcheckin.core import context
from wzcheckin.core.audit import record_audit
from wzcheckin.core.cli import CliGroups, emit_json, fail, progress, run_import
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db
from wzcheckin.venues.api import iso_local
from wzcheckin.venues.errors import VenueError, english_message
from wzcheckin.venues.services import create_slots, find_venue, import_venues, parse_day, parse_hhmm


def _import_venues(session, text, now, on_progress):
    return import_venues(session, text, now, on_progress)


@click.command("venues")
@click.argument("csv_file", type=click.Path(dir_okay=False))
def import_venues_command(csv_file: str):
    """Venues (code,name,kind,district,address); creates the checkpoints venue:<code>.
    kind: library, sports, workers_centre, culture, scenic_spot or landmark."""
    run_import("venues", csv_file, _import_venues)


@click.command("create")
@click.option("--venue", "venue_code", required=True, help="the venue's code")
@click.option("--date", "day", required=True, help="local date, YYYY-MM-DD")
@click.option("--from", "start", required=True, help="local time the first slot starts, HH:MM")
@click.option("--to", "end", required=True, help="local time the last slot ends, HH:MM")
@click.option("--length", required=True, help="minutes per slot")
@click.option("--capacity", required=True, help="places per slot")
def slots_create_command(venue_code, day, start, end, length, capacity):
    """Consecutive time slots for one day; prints them as JSON. All or nothing: a slot in the
    past or overlapping an existing one refuses the whole command."""
    programme = context.programme()
    now = clock.now()
    flags = {"date": "--date", "from": "--from", "to": "--to", "length": "--length", "capacity": "--capacity",
             "venue": "--venue"}
    try:
        with unit_of_work(db.session):
            venue = find_venue(db.session, venue_code)
            if venue is None:
                raise VenueError("venue_unknown", "venue")
            slots = create_slots(db.session, programme, venue, parse_day(day), parse_hhmm(start, "from"),
                                 parse_hhmm(end, "to"), _whole(length, "length", "length_range"),
                                 _whole(capacity, "capacity", "capacity_range"), now)
            record_audit(db.session, at=now, action="venues.slots_create", actor_role="cli", target_type="venue",
                         target_id=venue.code, details={"date": day, "from": start, "to": end, "length": length,
                                                        "capacity": capacity, "slots": len(slots)})
            result = [{"id": slot.id, "starts_at": iso_local(programme, slot.starts_at),
                       "ends_at": iso_local(programme, slot.ends_at), "capacity": slot.capacity} for slot in slots]
    except VenueError as exc:
        fail(f"{flags.get(exc.field or '', exc.field or 'input')}: {english_message(exc)} ({exc.code}); "
             "no slots were created")
    progress(f"{len(result)} slot(s) created for {venue_code}")
    emit_json(result)


def _whole(raw: str, field: str, code: str) -> int:
    text = (raw or "").strip()
    if not text.isdigit():
        raise VenueError(code, field)
    return int(text)


def register(groups: CliGroups) -> None:
    groups.import_.add_command(import_venues_command)
    slots = click.Group("slots", help="Venue time slots.")
    slots.add_command(slots_create_command)
    groups.root.add_command(slots)
