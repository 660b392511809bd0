"""The session dashboards and exports read from: a read replica when one is configured.

Kept apart from ``db.py`` (which knows nothing of Flask) and ``extensions.py``: this module needs
both, and neither needs it.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from wzcheckin.db import SQLITE_BUSY_TIMEOUT_SECONDS, configure_engine, engine_options
from wzcheckin.extensions import db

REPORTING = "wzcheckin.reporting"


def init_reporting(app: Flask) -> None:
    """A second, read-only connection for heavy reports (a PostgreSQL read replica), when
    ``WZCHECKIN_REPORTING_DATABASE_URL`` is set; otherwise reports read the primary."""
    url = app.config.get("REPORTING_DATABASE_URL")
    if not url:
        return
    engine = sa.create_engine(url, **engine_options(url))
    configure_engine(engine, lock_timeout=app.config.get("DB_LOCK_TIMEOUT_SECONDS", SQLITE_BUSY_TIMEOUT_SECONDS))
    app.extensions[REPORTING] = sessionmaker(bind=engine)

    @app.teardown_appcontext
    def _close_reporting_session(_error=None):
        session = g.pop("reporting_session", None)
        if session is not None:
            session.close()


def reporting_session() -> Session:
    """The session dashboards and exports read from: the replica if one is configured. Writes
    (the audit entry of an export, say) always go through ``db.session``."""
    factory = current_app.extensions.get(REPORTING)
    if factory is None:
        return db.session
    if "reporting_session" not in g:
        g.reporting_session = factory()
    return g.reporting_session
