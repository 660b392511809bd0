"""Welfare room: epidemic-prevention welfare packs (P3) — pickup points, stock, one pack per worker."""

from wzcheckin.core.room import Room
from wzcheckin.directory.models import CheckpointKind
from wzcheckin.welfare import api, cli, demo, home, models, scan_handlers, services

room = Room(name="welfare", models=models, api=api, scan_handlers={CheckpointKind.PICKUP: scan_handlers.pickup},
            scanner_context=services.scanner_context, cli=cli.register, home_panel=home.panel,
            home_standing=home.standing, demo=demo.load)
