"""The ``wzcheckin`` command line in tests.

``run_cli`` runs the real click commands in-process through Flask's CLI runner, on an app built
from the environment exactly as the ``wzcheckin`` entry point builds it: no interpreter start,
no imports, no app factory paid per call in a subprocess. It answers like ``subprocess.run``
(``returncode``, ``stdout``, ``stderr``; ``check`` raises ``CalledProcessError``), and an
exception the command did not turn into an exit status is raised, not hidden in a status 1.

``run_cli_process`` is the real process, for the one smoke test of the entry point and for
tests about processes (killed, or racing each other).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask

from tests.support.servers import ROOT, TEST_ENV

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # wzcheckin's own (create_app)


def command_env(database_url: str, env: dict | None = None) -> dict:
    """The environment of the command: the test keys and the database. The developer's own
    WZCHECKIN_DEV never leaks in; a test may still set it (with a simulated clock file, say)."""
    full_env = {key: value for key, value in os.environ.items() if key != "WZCHECKIN_DEV"}
    full_env.update({**TEST_ENV, "WZCHECKIN_DATABASE_URL": database_url, **(env or {})})
    return full_env


@contextmanager
def process_environment(environ: dict) -> Iterator[None]:
    """``os.environ`` is ``environ`` for the duration, as it would be in a process of its own:
    the app's configuration and anything a command loads (an SMS gateway, say) read it."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes: the runner's capture while a
    command runs."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


@contextmanager
def process_logging() -> Iterator[None]:
    """Logging as ``create_app`` sets it up in a process of its own (INFO and above to stderr),
    so what a command logs is in its ``stderr`` as a subprocess would have it. In-process,
    create_app leaves logging alone because the test runner has handlers already."""
    root = logging.getLogger()
    handler = _CurrentStderr()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@contextmanager
def cli_app() -> Iterator[Flask]:
    """The app ``wzcheckin`` builds from the environment; its connections closed after."""
    from wzcheckin import create_app
    from wzcheckin.extensions import db

    app = create_app()
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()
        reporting = app.extensions.get("wzcheckin.reporting")
        if reporting is not None:
            reporting.kw["bind"].dispose()


def invoke_cli(environ: dict, *args: str, check: bool = True, input: str | None = None,
               ) -> subprocess.CompletedProcess:
    """``wzcheckin ARGS`` in-process, in the given environment."""
    with process_environment(environ), cli_app() as app, process_logging():
        result = app.test_cli_runner().invoke(args=list(args), input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception.with_traceback(result.exc_info[2])
    completed = subprocess.CompletedProcess(["wzcheckin", *args], result.exit_code, result.stdout, result.stderr)
    if check:
        completed.check_returncode()
    return completed


def run_cli(database_url: str, *args: str, env: dict | None = None, check: bool = True,
            input: str | None = None) -> subprocess.CompletedProcess:
    """The real ``wzcheckin`` command line against a database, in-process."""
    return invoke_cli(command_env(database_url, env), *args, check=check, input=input)


def run_cli_process(database_url: str, *args: str, env: dict | None = None, check: bool = True,
                    input: str | None = None, cwd=ROOT) -> subprocess.CompletedProcess:
    """The real ``wzcheckin`` command line against a database, as a process of its own."""
    return subprocess.run([sys.executable, "-m", "wzcheckin.cli", *args], env=command_env(database_url, env), cwd=cwd,
                          capture_output=True, text=True, check=check, input=input, timeout=600)
