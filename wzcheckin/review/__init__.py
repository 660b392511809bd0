"""Review room: risk signals per enterprise, the officials' review queue for P6/P7/P8
applications, and the budget (issue 14 items 1, 2 and 8)."""

from wzcheckin.core.room import Room
from wzcheckin.review import cli, jobs, models, views

room = Room(name="review", models=models, blueprint=views.bp, nav_items=tuple(views.NAV_ITEMS),
            jobs=tuple(jobs.JOBS), cli=cli.register)
