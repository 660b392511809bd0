"""Enterprises and gates room."""

from wzcheckin.core.room import Room
from wzcheckin.directory.models import CheckpointKind
from wzcheckin.enterprises import demo, models, scan_handlers, views

room = Room(name="enterprises", models=models, blueprint=views.bp, nav_items=tuple(views.NAV_ITEMS),
            scan_handlers={CheckpointKind.GATE: scan_handlers.gate_entry}, demo=demo.load,
            raw_records=models.RAW_RECORDS)
