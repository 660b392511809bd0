"""Which database errors are outages, and which code each gets: provoked for real on SQLite and
PostgreSQL, never constructed by hand. A mistake in a statement or a constraint is not an
outage (it stays a 500 or a domain answer)."""

from __future__ import annotations

import socket
import sqlite3

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.db import (
    configure_engine,
    database_outage,
    describe_outage,
    engine_options,
    unit_of_work,
)

PHONE = "13812345678"  # a parameter of the failing statement: never in the description


def sqlite_engine(path, *, lock_timeout: float = 0.2, url: str | None = None) -> sa.Engine:
    url = url or f"sqlite:///{path}"
    engine = sa.create_engine(url, **engine_options(url))
    configure_engine(engine, lock_timeout=lock_timeout)
    return engine


@pytest.fixture
def sqlite_file(tmp_path):
    path = tmp_path / "faults.sqlite3"
    engine = sqlite_engine(path)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT UNIQUE)")
        connection.exec_driver_sql("INSERT INTO notes (body) VALUES ('first')")
    engine.dispose()
    return path


def failure_of(engine: sa.Engine, statement: str, params: dict | None = None) -> BaseException:
    with pytest.raises(sa.exc.SQLAlchemyError) as caught, unit_of_work(Session(engine)) as session:
        session.execute(sa.text(statement), params or {})
    return caught.value


def test_sqlite_lock_held_past_the_wait_is_database_busy(sqlite_file):
    outsider = sqlite3.connect(sqlite_file, isolation_level=None)
    outsider.execute("BEGIN EXCLUSIVE")
    engine = sqlite_engine(sqlite_file, lock_timeout=0.2)
    try:
        error = failure_of(engine, "INSERT INTO notes (body) VALUES (:body)", {"body": PHONE})
        assert database_outage(error) == "database_busy"
        assert "SQLITE_BUSY" in describe_outage(error)
        assert PHONE not in describe_outage(error)
        # readers are not blocked by a writer in WAL mode
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM notes").scalar() == 1
    finally:
        outsider.execute("ROLLBACK")
        outsider.close()
        engine.dispose()
    with unit_of_work(Session(engine)) as session:  # the lock gone, the same write goes through
        session.execute(sa.text("INSERT INTO notes (body) VALUES (:body)"), {"body": "second"})
    engine.dispose()


def test_sqlite_out_of_pages_is_disk_full(sqlite_file):
    engine = sqlite_engine(sqlite_file)

    @sa.event.listens_for(engine, "connect")
    def _no_room(dbapi_connection, _record):
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

    error = failure_of(engine, "INSERT INTO notes (body) VALUES (:body)", {"body": PHONE * 2000})
    engine.dispose()
    assert database_outage(error) == "disk_full"
    assert PHONE not in describe_outage(error)


def test_sqlite_read_only_file_is_database_read_only(sqlite_file):
    engine = sqlite_engine(sqlite_file, url=f"sqlite:///file:{sqlite_file}?mode=ro&uri=true")
    error = failure_of(engine, "INSERT INTO notes (body) VALUES ('x')")
    engine.dispose()
    assert database_outage(error) == "database_read_only"


def test_sqlite_mistakes_are_not_outages(sqlite_file):
    engine = sqlite_engine(sqlite_file)
    assert database_outage(failure_of(engine, "INSERT INTO notes (body) VALUES ('first')")) is None
    assert database_outage(failure_of(engine, "SELECT * FROM no_such_table")) is None
    assert database_outage(failure_of(engine, "SELEC 1")) is None
    engine.dispose()
    assert database_outage(ValueError("not a database error")) is None


def test_sqlite_outage_behind_another_error_is_found(sqlite_file):
    outsider = sqlite3.connect(sqlite_file, isolation_level=None)
    outsider.execute("BEGIN EXCLUSIVE")
    engine = sqlite_engine(sqlite_file, lock_timeout=0.1)
    try:
        try:
            with unit_of_work(Session(engine)) as session:
                session.execute(sa.text("INSERT INTO notes (body) VALUES ('x')"))
        except sa.exc.OperationalError as busy:
            try:
                raise RuntimeError("while saving the note") from busy
            except RuntimeError as wrapped:
                error = wrapped
    finally:
        outsider.execute("ROLLBACK")
        outsider.close()
        engine.dispose()
    assert database_outage(error) == "database_busy"


# --- PostgreSQL ---------------------------------------------------------------------------------

@pytest.fixture
def pg(postgres_only, new_database_url):
    url = new_database_url("postgresql")
    engine = sa.create_engine(url, **engine_options(url))
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE notes (id serial PRIMARY KEY, body text UNIQUE)")
        connection.exec_driver_sql("CREATE SEQUENCE untouched")
        connection.exec_driver_sql("INSERT INTO notes (body) VALUES ('first')")
    yield url, engine
    engine.dispose()


def admin_engine(url: str) -> sa.Engine:
    return sa.create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")


def test_postgres_refused_connection_is_database_unavailable(postgres_only):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/nothing"
    engine = sa.create_engine(url, **engine_options(url))
    with pytest.raises(sa.exc.OperationalError) as caught, engine.connect():
        pass
    assert database_outage(caught.value) == "database_unavailable"


def test_postgres_terminated_and_closed_database_is_database_unavailable(pg):
    url, engine = pg
    name = url.rsplit("/", 1)[1]
    admin = admin_engine(url)
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
        connection.commit()
        with admin.connect() as control:
            control.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            control.exec_driver_sql(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        with pytest.raises(sa.exc.DBAPIError) as lost:  # the connection in hand dies
            connection.exec_driver_sql("SELECT 1")
    try:
        with pytest.raises(sa.exc.OperationalError) as refused, engine.connect():  # no new ones
            pass
    finally:
        with admin.connect() as control:
            control.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.dispose()
    assert database_outage(lost.value) == "database_unavailable"
    assert database_outage(refused.value) == "database_unavailable"
    with engine.connect() as connection:  # and back
        assert connection.exec_driver_sql("SELECT count(*) FROM notes").scalar() == 1


def test_postgres_lock_wait_past_its_limit_is_database_busy(pg):
    _url, engine = pg
    with engine.connect() as holder, engine.connect() as waiter:
        holder.exec_driver_sql("SELECT * FROM notes FOR UPDATE")
        waiter.exec_driver_sql("SET lock_timeout = '100ms'")
        with pytest.raises(sa.exc.OperationalError) as caught:
            waiter.execute(sa.text("UPDATE notes SET body = :body"), {"body": PHONE})
        holder.rollback()
    assert database_outage(caught.value) == "database_busy"
    assert "55P03" in describe_outage(caught.value)
    assert PHONE not in describe_outage(caught.value)


def test_postgres_read_only_transaction_is_database_read_only(pg):
    _url, engine = pg
    with engine.connect() as connection:
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        with pytest.raises(sa.exc.DBAPIError) as caught:
            connection.exec_driver_sql("INSERT INTO notes (body) VALUES ('x')")
    assert database_outage(caught.value) == "database_read_only"


def test_postgres_mistakes_are_not_outages(pg):
    _url, engine = pg
    assert database_outage(failure_of(engine, "INSERT INTO notes (body) VALUES ('first')")) is None
    assert database_outage(failure_of(engine, "SELECT * FROM no_such_table")) is None
    assert database_outage(failure_of(engine, "SELECT currval('untouched')")) is None  # class 55 too

