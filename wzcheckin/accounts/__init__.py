"""Accounts room: users, roles, log-in, worker registration."""

from wzcheckin.accounts import api, cli, models, views
from wzcheckin.core.room import Room

room = Room(name="accounts", models=models, blueprint=views.bp, nav_items=tuple(views.NAV_ITEMS), api=api,
            cli=cli.register, raw_records=models.RAW_RECORDS)
