"""Scanning room: the scan record, the scanner page and the scan API."""

from wzcheckin.core.room import Room
from wzcheckin.scanning import api, jobs, models, views

room = Room(name="scanning", models=models, blueprint=views.bp, nav_items=tuple(views.NAV_ITEMS), api=api,
            raw_records=models.RAW_RECORDS, jobs=jobs.JOBS)
