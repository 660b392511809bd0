"""The deployment's gunicorn settings (deploy/gunicorn.conf.py), which the test servers use too:
the app is preloaded in the master, and a forked worker starts with no pooled connection."""

from __future__ import annotations

import os
import runpy

import sqlalchemy as sa

from tests.support.config import TEST_CONFIG
from tests.support.servers import GUNICORN_CONFIG
from wzcheckin import create_app
from wzcheckin.extensions import db as _db


class Arbiter:
    """What gunicorn hands ``post_fork``: the arbiter, whose ``app.wsgi()`` is the loaded app."""

    def __init__(self, wsgi_app):
        self.app = type("Application", (), {"wsgi": staticmethod(lambda: wsgi_app)})()


def pooled(app) -> int:
    with app.app_context():
        return _db.engine.pool.checkedin()


def test_the_app_is_preloaded_and_a_forked_worker_inherits_no_pooled_connection(tmp_path):
    settings = runpy.run_path(str(GUNICORN_CONFIG))
    assert settings["preload_app"] is True
    url = f"sqlite:///{tmp_path / 'master.sqlite3'}"
    app = create_app({**TEST_CONFIG, "DATABASE_URL": url, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context(), _db.engine.connect() as connection:  # a connection the master pooled
        connection.execute(sa.text("SELECT 1"))
    assert pooled(app) == 1

    pid = os.fork()  # as gunicorn forks a worker from the preloaded master
    if pid == 0:
        code = 1
        try:
            settings["post_fork"](Arbiter(app), None)
            code = 0 if pooled(app) == 0 else 2
        finally:
            os._exit(code)  # the worker ends here, whatever happened
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0  # 2: the worker still held the master's connection
    assert pooled(app) == 1  # the master's own pool is its own business
    with app.app_context():
        _db.engine.dispose()
