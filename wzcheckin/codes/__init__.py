"""Codes room: signed QR tokens, keys, passes."""

from wzcheckin.codes import api, models, views
from wzcheckin.core.room import Room

room = Room(name="codes", models=models, blueprint=views.bp, nav_items=tuple(views.NAV_ITEMS), api=api)
