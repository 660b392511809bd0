"""Venues and reservations room."""

from wzcheckin.core.room import Room
from wzcheckin.directory.models import CheckpointKind
from wzcheckin.venues import api, cli, demo, home, jobs, models, scan_handlers, views

room = Room(name="venues", models=models, blueprint=views.bp, nav_items=tuple(views.NAV_ITEMS), api=api,
            scan_handlers={CheckpointKind.VENUE: scan_handlers.redeem_reservation}, jobs=tuple(jobs.JOBS),
            cli=cli.register, home_panel=home.panel, home_standing=home.standing, demo=demo.load)
