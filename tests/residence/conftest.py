"""Residence tests: helpers to run the cutoff on the test's own session and to run the real
command line on a simulated clock (in-process, or as a process of its own)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime

import pytest
import sqlalchemy as sa

from tests.support.cli import invoke_cli
from tests.support.clock import at
from tests.support.servers import ROOT, TEST_ENV
from wzcheckin.residence.models import EnterpriseHeadcount, WorkerStatus

AFTER_CUTOFF = "2021-03-01 00:05"


def run_cutoff(db, programme, *, now: datetime | None = None, **kwargs) -> dict:
    from wzcheckin.residence.cutoff import run_snapshot

    db.commit()
    kwargs.setdefault("as_of", programme.cutoff)
    return run_snapshot(db, programme, now=now or at(AFTER_CUTOFF), **kwargs)


def statuses(db, snapshot_id: int) -> dict[int, WorkerStatus]:
    return {row.worker_id: row for row in db.scalars(sa.select(WorkerStatus).where(
        WorkerStatus.snapshot_id == snapshot_id))}


def headcount(db, snapshot_id: int, enterprise_id: int) -> EnterpriseHeadcount:
    return db.get(EnterpriseHeadcount, (snapshot_id, enterprise_id))


def cli_env(database_url: str, clock_file=None, **extra) -> dict:
    """The environment of the real ``wzcheckin`` command in these tests: the test keys, and the
    simulated clock (allowed in development mode only, which is why WZCHECKIN_DEV is set; the
    keys still come from TEST_ENV)."""
    env = {**os.environ, **TEST_ENV, "WZCHECKIN_DATABASE_URL": database_url, **extra}
    env.pop("WZCHECKIN_DEV", None)
    if clock_file is not None:
        env["WZCHECKIN_DEV"] = "1"
        env["WZCHECKIN_SIMULATED_CLOCK_FILE"] = str(clock_file)
    return env


def wzcheckin(database_url: str, *args: str, clock_file=None, check: bool = True,
              env: dict | None = None) -> subprocess.CompletedProcess:
    """``wzcheckin ARGS`` in-process (like tests.support.cli.run_cli, plus a clock)."""
    return invoke_cli(cli_env(database_url, clock_file, **(env or {})), *args, check=check)


def start_wzcheckin(database_url: str, *args: str, clock_file=None, env: dict | None = None,
                    log_path=None) -> subprocess.Popen:
    """``wzcheckin ARGS`` as a process of its own, for tests that kill it or race two of them."""
    output = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - closed below
    try:
        return subprocess.Popen([sys.executable, "-m", "wzcheckin.cli", *args], cwd=ROOT,
                                env=cli_env(database_url, clock_file, **(env or {})), stdout=output, stderr=output,
                                start_new_session=True)
    finally:
        if log_path:
            output.close()  # the child has its own copy of the descriptor


@pytest.fixture
def clock_file(tmp_path):
    from wzcheckin.clock import SimulatedClock

    path = tmp_path / "clock"
    SimulatedClock(path).set(at(AFTER_CUTOFF))
    return path


@pytest.fixture
def database_url(app):
    return app.config["SQLALCHEMY_DATABASE_URI"]


@pytest.fixture
def cutoff(app, db, programme):
    """Run the cutoff (or a trial or preview) on the test's session, in an app context (the SMS
    notices are worded in the recipient's language)."""

    def run(**kwargs) -> dict:
        with app.app_context():
            return run_cutoff(db, programme, **kwargs)

    return run


@pytest.fixture
def set_clock(app, tmp_path):
    """Put the test app on a simulated clock: ``set_clock("2021-02-20 09:00")`` (local time)."""
    from wzcheckin.clock import SimulatedClock

    clock = SimulatedClock(tmp_path / "app-clock")
    original = app.extensions["wzcheckin.clock"]
    app.extensions["wzcheckin.clock"] = clock

    def set_to(text: str) -> None:
        clock.set(at(text))

    set_to(AFTER_CUTOFF)
    yield set_to
    app.extensions["wzcheckin.clock"] = original


@pytest.fixture
def server_database(fresh_database):
    """``fresh_database`` (migrated by ``wzcheckin init``) plus the residence tables the initial
    migration does not have until it is regenerated; ``checkfirst`` makes this a no-op after."""
    import wzcheckin.models  # noqa: F401 - every room's tables
    from wzcheckin.db import Base

    engine = sa.create_engine(fresh_database)
    Base.metadata.create_all(engine, checkfirst=True)
    engine.dispose()
    return fresh_database
