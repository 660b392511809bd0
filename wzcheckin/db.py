"""Database plumbing shared by every room: the declarative base, column types, and the unit of
work that the outer layer (view, CLI command, scheduled job) opens around every change.

Transactions and locking, in one place:

* PostgreSQL runs READ COMMITTED. Domain functions protect invariants with conditional
  ``UPDATE ... WHERE`` statements (the row lock makes a concurrent updater wait and re-check the
  condition), ``SELECT ... FOR UPDATE`` where a read decides a write, and UNIQUE constraints as the
  last line of defence.
* SQLite allows one writer at a time. A write unit of work starts with ``BEGIN IMMEDIATE`` so the
  write lock is taken up front and concurrent writers queue on the busy timeout; a plain
  ``BEGIN`` would fail with "database is locked" when a reader later tries to upgrade.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_WRITE_OPTION = "wzcheckin_sqlite_write"
SQLITE_BUSY_TIMEOUT_SECONDS = 30  # how long a writer waits for the write lock before giving up
SQLITE_LOCK_POLL_MS = 10           # SQLite's own busy wait per attempt (its sleeps stay short)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC instant on every backend (SQLite stores it as naive UTC text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused: pass an aware UTC instant")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# 64-bit keys on PostgreSQL (30M scans a season), SQLite's INTEGER rowid otherwise.
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def enum_column(values: type, name: str, length: int = 24) -> sa.Enum:
    """A portable enum: VARCHAR plus a CHECK constraint, values as stored strings."""
    return sa.Enum(
        values,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda enum: [member.value for member in enum],
        validate_strings=True,
    )


def render_migration_item(type_: str, obj, _autogen_context):
    """Alembic autogenerate: write our portable types as plain SQLAlchemy types, so migration
    files never import application code that may change later."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def configure_engine(engine: Engine) -> None:
    """Connection settings per backend; called once per engine at start-up."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _sqlite_on_connect(dbapi_connection, _record):
        # Take transaction control away from the sqlite3 module so we can issue BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Short: BEGIN IMMEDIATE waits in the retry loop below, not in SQLite's coarse sleeps.
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_LOCK_POLL_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_on_begin(connection):
        if not connection.get_execution_options().get(SQLITE_WRITE_OPTION):
            connection.exec_driver_sql("BEGIN DEFERRED")
            return
        # Every write in the app begins here, so this is the one place a writer waits for another.
        # SQLite's own busy handler sleeps 25–100 ms at a time once a wait gets long, which turns two
        # gunicorn workers contending for the lock into idle time; retrying every millisecond or
        # two (with jitter) hands the lock over as soon as it is free.
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_SECONDS
        pause = 0.0005
        while True:
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except sa.exc.OperationalError as exc:
                if "locked" not in str(exc.orig) or time.monotonic() > deadline:
                    raise
            time.sleep(pause * random.uniform(0.5, 1.5))  # jitter, not security
            pause = min(pause * 2, 0.002)


def engine_options(database_url: str) -> dict:
    if database_url.startswith("sqlite"):
        return {"connect_args": {"timeout": SQLITE_LOCK_POLL_MS / 1000, "check_same_thread": False}}
    return {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10}


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """One write transaction: commit once at the end, roll back on any error.

    On SQLite a read transaction already open on the session (loading the current user, say) is
    ended first, so the write transaction can start with the write lock held (BEGIN IMMEDIATE).
    On PostgreSQL the open transaction simply continues: under READ COMMITTED every statement sees
    the latest committed rows, and the locks and constraints below do the protecting.
    Objects loaded before stay loaded (the session does not expire on commit); domain functions
    that decide on a row's current state lock or re-read it inside the unit of work.
    Domain functions called inside only flush; they never commit.
    """
    if isinstance(session, scoped_session):
        session = session()  # the request's (or command's) own Session behind the proxy
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("changes were made outside a unit of work")
        if session.get_bind().dialect.name == "sqlite":
            session.commit()  # ends the read transaction; nothing to write
    if not session.in_transaction():
        session.connection(execution_options={SQLITE_WRITE_OPTION: True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def is_unique_violation(error: sa.exc.IntegrityError) -> bool:
    """True when an IntegrityError is a UNIQUE (not a foreign-key or check) violation."""
    original = getattr(error, "orig", None)
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate == "23505"
    return "UNIQUE constraint failed" in str(original)


def init_reporting(app) -> None:
    """A second, read-only connection for heavy reports (a PostgreSQL read replica), when
    ``WZCHECKIN_REPORTING_DATABASE_URL`` is set; otherwise reports read the primary."""
    from flask import g
    from sqlalchemy.orm import sessionmaker

    url = app.config.get("REPORTING_DATABASE_URL")
    if not url:
        return
    engine = sa.create_engine(url, **engine_options(url))
    configure_engine(engine)
    app.extensions["wzcheckin.reporting"] = sessionmaker(bind=engine)

    @app.teardown_appcontext
    def _close_reporting_session(_error=None):
        session = g.pop("reporting_session", None)
        if session is not None:
            session.close()


def reporting_session() -> Session:
    """The session dashboards and exports read from: the replica if one is configured. Writes
    (the audit entry of an export, say) always go through ``db.session``."""
    from flask import current_app, g

    factory = current_app.extensions.get("wzcheckin.reporting")
    if factory is None:
        from wzcheckin.extensions import db

        return db.session
    if "reporting_session" not in g:
        g.reporting_session = factory()
    return g.reporting_session
