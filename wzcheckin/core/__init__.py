"""Core: pieces every room shares (identifiers, personal data, audit, i18n, HTTP plumbing, the
room type itself) and the pages that belong to no room: the landing page, the language switch,
the health check, the manifest."""

from wzcheckin.core import cli, models, views
from wzcheckin.core.room import Room

room = Room(name="core", models=models, blueprint=views.bp, cli=cli.register)
