"""Database plumbing shared by every room: the declarative base, column types, and the unit of
work that the outer layer (view, CLI command, scheduled job) opens around every change.

Transactions and locking, in one place:

* PostgreSQL runs READ COMMITTED. Domain functions protect invariants with conditional
  ``UPDATE ... WHERE`` statements (the row lock makes a concurrent updater wait and re-check the
  condition), ``SELECT ... FOR UPDATE`` where a read decides a write, and UNIQUE constraints as the
  last line of defence.
* One route reads outside a transaction on PostgreSQL: the scan route (``api_route(...,
  begins_at_first_write=True)``) reads in autocommit and its domain code begins a transaction
  before writes that must commit together (:func:`transaction_for_writes`); a gate scan's one
  write — the claim and the scan in one statement — needs none. Three round trips instead of six.
* The statements every scan and booking sends are ``HotStatement`` objects: compiled once, run on
  the driver's cursor inside the same transaction as everything else.
* SQLite allows one writer at a time. A write unit of work starts with ``BEGIN IMMEDIATE`` so the
  write lock is taken up front and concurrent writers queue on the busy timeout; a plain
  ``BEGIN`` would fail with "database is locked" when a reader later tries to upgrade.
"""

from __future__ import annotations

import logging
import random
import select
import sqlite3
import sys
import time
from collections import namedtuple
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from psycopg.pq import TransactionStatus
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
# How long a writer waits for the write lock before the request is answered 503 database_busy
# (``WZCHECKIN_DB_LOCK_TIMEOUT_SECONDS``). Well under gunicorn's 30 s timeout, so the caller gets
# an answer instead of a killed worker; a healthy write holds the lock for milliseconds.
SQLITE_BUSY_TIMEOUT_SECONDS = 10.0
SQLITE_LOCK_POLL_MS = 10           # SQLite's own busy wait per attempt (its sleeps stay short)
# The WAL grows while a long reader pins an old snapshot; after the next complete checkpoint
# SQLite truncates it back to this size instead of keeping the high-water mark on disk forever.
SQLITE_JOURNAL_SIZE_LIMIT_BYTES = 8 * 1024 * 1024
POSTGRES_CONNECT_TIMEOUT_SECONDS = 5  # an unreachable host fails fast instead of hanging a worker
POOL_TIMEOUT_SECONDS = 10             # waiting for a pooled connection, also under gunicorn's 30 s

# Stable codes of a database outage (answered 503 with Retry-After, see core.errors).
DATABASE_UNAVAILABLE = "database_unavailable"
DATABASE_BUSY = "database_busy"
DISK_FULL = "disk_full"
DATABASE_READ_ONLY = "database_read_only"


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


def configure_engine(engine: Engine, *, lock_timeout: float = SQLITE_BUSY_TIMEOUT_SECONDS) -> None:
    """Connection settings per backend; called once per engine at start-up. ``lock_timeout``:
    how long a SQLite writer waits for the write lock before giving up (database_busy)."""
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _mark_fresh)
        event.listen(engine, "checkout", _refuse_connection_closed_while_idle)
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
        cursor.execute(f"PRAGMA journal_size_limit={SQLITE_JOURNAL_SIZE_LIMIT_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_on_begin(connection):
        if not connection.get_execution_options().get(SQLITE_WRITE_OPTION):
            connection.exec_driver_sql("BEGIN DEFERRED")
            return
        # Every write in the app begins here, so this is the one place a writer waits for another.
        # SQLite's own busy handler sleeps 1, 2, 5 ms… between tries, long beside a scan's write
        # (about half a millisecond), which turns two gunicorn workers contending for the lock into
        # idle time. So while it waits here, the connection's busy timeout is 0 and the wait is
        # ours: a retry every 0.1–2 ms (with jitter). The retries go to the driver's connection,
        # so each busy answer costs microseconds, not SQLAlchemy's error handling.
        raw = connection.connection.dbapi_connection
        raw.execute("PRAGMA busy_timeout=0")
        try:
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except sa.exc.OperationalError as exc:
                if "locked" not in str(exc.orig):
                    raise
            deadline = time.monotonic() + lock_timeout
            pause = 0.0001
            while time.monotonic() < deadline:
                time.sleep(pause * random.uniform(0.5, 1.5))  # jitter, not security
                pause = min(pause * 1.5, 0.002)
                try:
                    raw.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc):
                        break  # not a wait: raised below as SQLAlchemy raises it
        finally:
            raw.execute(f"PRAGMA busy_timeout={SQLITE_LOCK_POLL_MS}")
        # Past the deadline (or another failure): once more, so the error is SQLAlchemy's own
        # (``database is locked`` → 503 database_busy, a full disk → disk_full).
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _mark_fresh(_dbapi_connection, record) -> None:
    record.info["fresh"] = True


def _refuse_connection_closed_while_idle(dbapi_connection, record, _proxy) -> None:
    """A pooled PostgreSQL connection is checked as it leaves the pool, without a round trip
    (``pool_pre_ping`` sends one on every checkout: one round trip in seven on the scan path). A
    connection between transactions owes the server no answer and is owed none, so a socket with
    something to read means the server spoke first: to say it is shutting down or has ended the
    session (restart, ``pg_terminate_backend``, an idle timeout) before closing it. Raising
    InvalidatePoolError is SQLAlchemy's documented way (PoolEvents.checkout) to have the pool drop
    this connection and every older one and hand out a fresh one instead — what a failed pre-ping
    does. A connection just opened is not checked (nor pinged, by pre-ping): the pool's second
    try is always one, so it never gives up on a live server."""
    if record.info.pop("fresh", False):
        return
    if dbapi_connection.closed or dbapi_connection.broken:
        raise sa.exc.InvalidatePoolError("connection already closed")
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    if poller.poll(0):
        raise sa.exc.InvalidatePoolError("the server spoke to, or closed, an idle connection")


def engine_options(database_url: str) -> dict:
    if database_url.startswith("sqlite"):
        return {"connect_args": {"timeout": SQLITE_LOCK_POLL_MS / 1000, "check_same_thread": False}}
    options = {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10, "pool_timeout": POOL_TIMEOUT_SECONDS}
    if database_url.startswith("postgresql"):
        options["pool_pre_ping"] = False  # configure_engine checks a connection without a round trip
        options["connect_args"] = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS}
    return options


def reads_outside_a_transaction(session: Session) -> None:
    """PostgreSQL: this session's statements run outside a transaction until the code about to
    write asks for one (:func:`transaction_for_writes`); a single-statement write commits by
    itself. Under READ COMMITTED a read sees the same committed rows in a transaction or out of
    one, and ``BEGIN`` and ``COMMIT`` are two round trips (psycopg sends each on its own) — a
    third of a gate scan's. Only for a request whose every write goes through code that asks
    (``api_route(..., begins_at_first_write=True)``: the scan route). SQLite: nothing changes
    (a transaction there costs no round trip, and its write lock is taken by BEGIN IMMEDIATE)."""
    if isinstance(session, scoped_session):
        session = session()  # the request's own Session behind the proxy
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def transaction_for_writes(session: Session) -> None:
    """Before writes that must commit together: on a connection left outside a transaction by
    :func:`reads_outside_a_transaction`, begin one now. psycopg commits (or rolls back) an open
    transaction on ``commit()`` (``rollback()``) whatever its autocommit setting, so the unit of
    work's commit or rollback ends it as usual. Anywhere else: nothing to do."""
    connection = session.connection()
    if (connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
            and connection.connection.dbapi_connection.info.transaction_status == TransactionStatus.IDLE):
        connection.exec_driver_sql("BEGIN")


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


_HOT_CURSOR = "wzcheckin.hot_statement_cursor"


class HotStatement:
    """A Core statement that every scan (or booking) sends, run on the driver's own cursor with its SQL
    compiled once per dialect. SQLAlchemy's execution of even a cached statement (its cache key,
    an execution context, the result's metadata read from the cursor's description) costs about
    0.13 ms of CPU per statement on PostgreSQL: more than psycopg's own work and the round trip's
    together (bench/README.md, "sixth pass"). What that machinery does that matters here is kept:
    values are converted both ways by the columns' own types (the same bind and result processors
    SQLAlchemy would apply), and a driver error is raised as SQLAlchemy raises it — the right
    ``sa.exc.DBAPIError`` subclass, with a lost connection invalidated first, so outages still
    answer 503 and the pool replaces the connection. Written to SQLAlchemy's statement log when
    that is on (``echo``), but not seen by its cursor events (an APM's hooks; the statement tests
    read the driver's own trace). Keep it to a handful of statements on the hot path; everything
    else goes through SQLAlchemy as usual."""

    __slots__ = ("_forms", "statement")

    def __init__(self, statement: sa.Executable):
        self.statement = statement
        self._forms: dict[tuple[str, str], _CompiledForm] = {}  # by (dialect, driver)

    def first(self, connection: sa.Connection, params: dict) -> tuple | None:
        """The first row, as a named tuple of the statement's columns (or RETURNING's), or None."""
        rows = self._execute(connection, params)
        return rows[0] if rows else None

    def scalar(self, connection: sa.Connection, params: dict):
        """The first column of the first row, or None when there is no row."""
        rows = self._execute(connection, params)
        return rows[0][0] if rows else None

    def _execute(self, connection: sa.Connection, params: dict) -> list:
        dialect = connection.dialect
        form = self._forms.get((dialect.name, dialect.driver))
        if form is None:
            form = self._forms[(dialect.name, dialect.driver)] = _CompiledForm(self.statement, dialect)
        arguments = form.arguments(params)
        engine = connection.engine
        if engine.logger.isEnabledFor(logging.INFO):
            # SQLAlchemy's statement log (``echo=True``, or the ``sqlalchemy.engine`` logger at
            # INFO) shows these statements as it shows its own: the SQL, then the parameters.
            engine.logger.info("%s", form.sql)
            engine.logger.info("[hot statement] %s", "[SQL parameters hidden due to hide_parameters=True]"
                               if engine.hide_parameters else repr(arguments))
        if not connection.in_transaction():
            # As SQLAlchemy's own execute does (autobegin): its commit and rollback then end
            # what the driver began (and SQLite gets its BEGIN from db.py's listener).
            connection.begin()
        pooled = connection.connection
        dbapi_connection = pooled.dbapi_connection
        # One cursor per driver connection, kept with it (the pool's ``info`` lives as long as the
        # driver's connection and is emptied when it is replaced): each statement reads its
        # result to the end, so the cursor is free again for the next one.
        cursor = pooled.info.get(_HOT_CURSOR)
        try:
            if cursor is None:
                cursor = pooled.info[_HOT_CURSOR] = dbapi_connection.cursor()
            cursor.execute(form.sql, arguments)
            # Read to the end: a SQLite statement stays active (holding its snapshot) until then.
            rows = cursor.fetchall() if form.returns_rows else []
            if rows and form.readers is None:
                form.learn_readers(dialect, cursor.description)
        except dialect.loaded_dbapi.Error as error:
            pooled.info.pop(_HOT_CURSOR, None)
            lost = dialect.is_disconnect(error, dbapi_connection, cursor)
            if lost:
                connection.invalidate(error)
            raise sa.exc.DBAPIError.instance(form.sql, arguments, error, dialect.loaded_dbapi.Error,
                                             connection_invalidated=lost, dialect=dialect) from error
        return [form.row(row) for row in rows]


class _CompiledForm:
    """One dialect's SQL for a :class:`HotStatement`, with its parameters' order (a positional
    driver such as sqlite3) and the columns' type processors."""

    __slots__ = (
        "_binders",
        "_columns",
        "_fixed",
        "_names",
        "_positional",
        "_row_type",
        "readers",
        "returns_rows",
        "sql",
    )

    def __init__(self, statement: sa.Executable, dialect: sa.Dialect):
        compiled = statement.compile(dialect=dialect)
        if compiled.escaped_bind_names:
            raise ValueError("a hot statement's parameter names must need no escaping")
        if any(bind.expanding for bind in compiled.binds.values()):
            # SQLAlchemy writes an expanding IN's parameters at each execution; this SQL is fixed.
            raise ValueError("a hot statement cannot hold an expanding IN: spell it with or_()")
        self.sql = compiled.string
        self._positional = compiled.positional
        self._names = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.binds)
        # A value written into the statement (``column == 5``) is a bound parameter of its own.
        self._fixed = {name: bind.value for name, bind in compiled.binds.items()
                       if not bind.required and bind.callable is None}
        self._binders = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self._binders[name] = processor
        self._columns = list(statement.exported_columns)
        self.returns_rows = bool(self._columns)
        self.readers: list | None = None  # learnt from the first result: see learn_readers
        self._row_type = namedtuple("Row", [column.key for column in self._columns], rename=True)

    def learn_readers(self, dialect: sa.Dialect, description) -> None:
        """The columns' result processors, as SQLAlchemy picks them: from the type and the driver's
        type code of each column (a PostgreSQL numeric comes back as Decimal or float by its OID)."""
        self.readers = [(index, processor) for index, (column, described) in enumerate(
                            zip(self._columns, description, strict=True))
                        if (processor := column.type.dialect_impl(dialect).result_processor(dialect, described[1]))]

    def arguments(self, params: dict) -> dict | tuple:
        binders, fixed = self._binders, self._fixed
        values = [params[name] if name in params else fixed[name] for name in self._names]
        if binders:
            values = [binders[name](value) if name in binders else value
                      for name, value in zip(self._names, values, strict=True)]
        return tuple(values) if self._positional else dict(zip(self._names, values, strict=True))

    def row(self, row: tuple) -> tuple:
        if self.readers:
            row = list(row)
            for index, processor in self.readers:
                row[index] = processor(row[index])
        return self._row_type._make(row)


def is_unique_violation(error: sa.exc.IntegrityError) -> bool:
    """True when an IntegrityError is a UNIQUE (not a foreign-key or check) violation."""
    original = getattr(error, "orig", None)
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate == "23505"
    return "UNIQUE constraint failed" in str(original)


# SQLite's primary result codes (the low byte of ``sqlite_errorcode``) that mean the database
# cannot serve just now, as opposed to a mistake in the statement (SQLITE_ERROR, constraint...).
_SQLITE_OUTAGES = {
    5: DATABASE_BUSY,          # SQLITE_BUSY: another connection holds the lock past our wait
    6: DATABASE_BUSY,          # SQLITE_LOCKED
    7: DATABASE_UNAVAILABLE,   # SQLITE_NOMEM
    8: DATABASE_READ_ONLY,     # SQLITE_READONLY: read-only file or file system
    10: DATABASE_UNAVAILABLE,  # SQLITE_IOERR: the storage failed a read or a write
    11: DATABASE_UNAVAILABLE,  # SQLITE_CORRUPT
    13: DISK_FULL,             # SQLITE_FULL: no space left (or max_page_count reached)
    14: DATABASE_UNAVAILABLE,  # SQLITE_CANTOPEN
    26: DATABASE_UNAVAILABLE,  # SQLITE_NOTADB
}
_SQLITE_MESSAGES = {  # when the driver gives no result code
    "database is locked": DATABASE_BUSY,
    "database table is locked": DATABASE_BUSY,
    "database or disk is full": DISK_FULL,
    "disk i/o error": DATABASE_UNAVAILABLE,
    "attempt to write a readonly database": DATABASE_READ_ONLY,
    "unable to open database file": DATABASE_UNAVAILABLE,
}
# PostgreSQL SQLSTATEs of an outage; classes 08 (connection) and 58 (system error) as a whole.
_POSTGRES_OUTAGES = {
    "53100": DISK_FULL,             # disk_full
    "53300": DATABASE_BUSY,         # too_many_connections
    "55P03": DATABASE_BUSY,         # lock_not_available (lock_timeout, NOWAIT)
    "57014": DATABASE_BUSY,         # query_canceled (statement_timeout)
    "25006": DATABASE_READ_ONLY,    # read_only_sql_transaction: a standby, or a failover under way
    "57P01": DATABASE_UNAVAILABLE,  # admin_shutdown
    "57P02": DATABASE_UNAVAILABLE,  # crash_shutdown
    "57P03": DATABASE_UNAVAILABLE,  # cannot_connect_now (starting up, shutting down)
    "53000": DATABASE_UNAVAILABLE,  # insufficient_resources
    "53200": DATABASE_UNAVAILABLE,  # out_of_memory
}


def database_outage(error: BaseException | None) -> str | None:
    """The stable code of the database outage behind ``error`` (``database_unavailable``,
    ``database_busy``, ``disk_full``, ``database_read_only``), or None when ``error`` is not one
    (a bug, a constraint, a bad statement). Looks through the exception's causes, since a failed
    rollback can hide the error that made it."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        code = _outage_code(error)
        if code is not None:
            return code
        error = error.__cause__ or error.__context__
    return None


def _outage_code(error: BaseException) -> str | None:
    if isinstance(error, sa.exc.TimeoutError):  # no pooled connection came free in time
        return DATABASE_BUSY
    if isinstance(error, sa.exc.DBAPIError):
        if error.connection_invalidated:  # SQLAlchemy recognised a lost connection
            return DATABASE_UNAVAILABLE
        # No statement: the error came while connecting (refused, database closed to new
        # connections, server starting up...).
        return _driver_outage_code(error.orig, connecting=error.statement is None)
    return _driver_outage_code(error, connecting=False)


def _driver_outage_code(error: BaseException | None, *, connecting: bool) -> str | None:
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        if code is not None:
            return _SQLITE_OUTAGES.get(code & 0xFF)
        message = str(error).lower()
        return next((outage for text, outage in _SQLITE_MESSAGES.items() if text in message), None)
    psycopg = sys.modules.get("psycopg")
    if psycopg is None or not isinstance(error, psycopg.Error):
        return None
    sqlstate = getattr(error, "sqlstate", None) or ""
    if sqlstate in _POSTGRES_OUTAGES:
        return _POSTGRES_OUTAGES[sqlstate]
    if sqlstate[:2] in {"08", "58"} or connecting:
        return DATABASE_UNAVAILABLE
    if isinstance(error, psycopg.InterfaceError):  # the connection is closed or broken
        return DATABASE_UNAVAILABLE
    if isinstance(error, psycopg.OperationalError) and not sqlstate:  # libpq lost the server
        return DATABASE_UNAVAILABLE
    return None


def describe_outage(error: BaseException) -> str:
    """One short line for the log: the driver's error class, its code and the first line of its
    message. Never the SQL statement or its parameters (they may hold personal data)."""
    original = error
    seen: set[int] = set()
    while original is not None and id(original) not in seen:
        seen.add(id(original))
        if _outage_code(original) is not None:
            break
        original = original.__cause__ or original.__context__
    original = original if original is not None else error
    if isinstance(original, sa.exc.TimeoutError):
        return "TimeoutError: no pooled connection came free in time"
    driver_error = original.orig if isinstance(original, sa.exc.DBAPIError) else original
    if driver_error is None:
        return type(original).__name__
    code = getattr(driver_error, "sqlstate", None) or getattr(driver_error, "sqlite_errorname", None)
    lines = str(driver_error).strip().splitlines()
    first_line = lines[0][:200] if lines else ""
    return f"{type(driver_error).__name__}{f' [{code}]' if code else ''}: {first_line}"

