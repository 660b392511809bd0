"""Residence room: evidence, the cutoff, snapshots, headcounts and subsidies."""

from wzcheckin.core.room import Room
from wzcheckin.residence import api, cli, cutoff, demo, home, jobs, models, views

room = Room(name="residence", models=models, blueprint=views.bp, nav_items=tuple(views.NAV_ITEMS), api=api,
            jobs=tuple(jobs.JOBS), cli=cli.register, home_panel=home.panel, home_standing=home.standing,
            demo=demo.load, purge_guard=cutoff.refuse_purge_before_official_snapshot)
