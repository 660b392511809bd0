"""Benefits room: data bonus, points, training, activities, rights, services."""

from wzcheckin.benefits import api, cli, demo, home, models, scan_handlers, views
from wzcheckin.core.room import Room
from wzcheckin.directory.models import CheckpointKind

room = Room(name="benefits", models=models, blueprint=views.bp, nav_items=tuple(views.NAV_ITEMS), api=api,
            scan_handlers={CheckpointKind.TRAINING: scan_handlers.training_attendance}, cli=cli.register,
            home_panel=home.panel, home_standing=home.standing, demo=demo.load, raw_records=models.RAW_RECORDS)
