"""Admin room: the officials desk, dashboards, exports, audit viewer."""

from wzcheckin.admin import cli, models, views
from wzcheckin.core.room import Room

room = Room(name="admin", models=models, blueprint=views.bp, nav_items=tuple(views.NAV_ITEMS), cli=cli.register,
            raw_records=models.RAW_RECORDS)
