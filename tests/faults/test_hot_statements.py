"""``db.HotStatement``: the scan path's statements run on the driver's cursor must behave as
SQLAlchemy's own execution does — the same values both ways, the same exceptions, and a lost
connection invalidated — on a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from wzcheckin.db import (
    NAMING_CONVENTION,
    HotStatement,
    UTCDateTime,
    configure_engine,
    database_outage,
    engine_options,
    enum_column,
    is_unique_violation,
)


class Colour(enum.StrEnum):
    RED = "red"
    GREEN = "green"


metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
things = sa.Table(
    "things", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(16), unique=True, nullable=False),
    sa.Column("seen_at", UTCDateTime, nullable=False),
    sa.Column("colour", enum_column(Colour, "colour", 8), nullable=False),
    sa.Column("details", sa.JSON),
    sa.Column("checked", sa.Boolean, nullable=False),
    sa.Column("reading", sa.Numeric(5, 2)),
)
VALUES = {c.key: sa.bindparam(c.key, type_=c.type) for c in things.c if c.key != "id"}
INSERT = HotStatement(sa.insert(things).values(VALUES).returning(things.c.id))
BY_CODE = HotStatement(sa.select(things).where(things.c.code == sa.bindparam("code")))
GREEN_ONES = HotStatement(sa.select(sa.func.count()).select_from(things).where(things.c.colour == Colour.GREEN))


@pytest.fixture
def engine(backend, new_database_url):
    url = new_database_url(backend)
    engine = sa.create_engine(url, **engine_options(url))
    configure_engine(engine)
    metadata.create_all(engine)  # a scratch table of this test's own
    yield engine
    engine.dispose()


def a_thing(code: str = "first", **changes) -> dict:
    return {"code": code, "seen_at": datetime(2021, 2, 11, 23, 59, 30, tzinfo=UTC), "colour": Colour.GREEN,
            "details": {"why": "测试", "hours": [1, 2]}, "checked": True, "reading": Decimal("36.55"), **changes}


def test_values_go_in_and_come_back_as_sqlalchemy_converts_them(engine):
    """Written by the hot statement, read back by SQLAlchemy and by the hot statement: the same
    Python values either way (an aware UTC instant, the enum member, the JSON document, a bool,
    a Decimal)."""
    with engine.begin() as connection:
        new_id = INSERT.scalar(connection, a_thing())
    with engine.connect() as connection:
        through_sqlalchemy = connection.execute(sa.select(things).where(things.c.id == new_id)).one()
        through_the_driver = BY_CODE.first(connection, {"code": "first"})
    assert tuple(through_the_driver) == tuple(through_sqlalchemy)
    assert through_the_driver.seen_at == datetime(2021, 2, 11, 23, 59, 30, tzinfo=UTC)
    assert through_the_driver.seen_at.utcoffset() == timedelta(0)
    assert through_the_driver.colour is Colour.GREEN
    assert through_the_driver.details == {"why": "测试", "hours": [1, 2]}
    assert through_the_driver.checked is True and through_the_driver.reading == Decimal("36.55")


def test_no_row_is_none_and_a_value_written_into_the_statement_is_sent(engine):
    with engine.begin() as connection:
        assert BY_CODE.first(connection, {"code": "nobody"}) is None
        INSERT.scalar(connection, a_thing("green"))
        INSERT.scalar(connection, a_thing("red", colour=Colour.RED))
        assert GREEN_ONES.scalar(connection, {}) == 1


def test_a_naive_instant_is_refused_before_anything_is_sent(engine):
    with engine.begin() as connection, pytest.raises(ValueError, match="naive"):
        INSERT.scalar(connection, a_thing(seen_at=datetime(2021, 2, 11, 12, 0)))


def test_a_missing_parameter_is_a_key_error_not_a_null(engine):
    values = a_thing()
    del values["reading"]
    with engine.begin() as connection, pytest.raises(KeyError, match="reading"):
        INSERT.scalar(connection, values)


def test_a_duplicate_is_sqlalchemys_integrity_error_and_no_outage(engine):
    with engine.begin() as connection:
        INSERT.scalar(connection, a_thing())
    with pytest.raises(sa.exc.IntegrityError) as caught, engine.begin() as connection:
        INSERT.scalar(connection, a_thing())
    assert is_unique_violation(caught.value)
    assert database_outage(caught.value) is None
    with engine.connect() as connection:  # the failed transaction was rolled back; the row is alone
        assert connection.execute(sa.select(sa.func.count()).select_from(things)).scalar() == 1


def test_on_conflict_do_nothing_returns_no_row(engine):
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    claim = HotStatement(insert(things).values(VALUES).on_conflict_do_nothing(index_elements=["code"])
                         .returning(things.c.code))
    with engine.begin() as connection:
        assert claim.first(connection, a_thing()).code == "first"
        assert claim.first(connection, a_thing()) is None


def test_a_connection_lost_under_a_hot_statement_is_invalidated_and_an_outage(postgres_only, engine):
    """The server ends the session (a restart, pg_terminate_backend): the error is SQLAlchemy's,
    marked as a lost connection (503 database_unavailable), and the pool opens a new one after."""
    admin = sa.create_engine(engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        connection.commit()
        with admin.connect() as control:
            control.exec_driver_sql(f"SELECT pg_terminate_backend({pid})")
        with pytest.raises(sa.exc.DBAPIError) as lost:
            BY_CODE.first(connection, {"code": "first"})
        assert connection.invalidated
    admin.dispose()
    assert lost.value.connection_invalidated
    assert database_outage(lost.value) == "database_unavailable"
    with engine.connect() as connection:
        assert BY_CODE.first(connection, {"code": "first"}) is None


def test_an_expanding_in_is_refused_when_first_compiled(engine):
    """SQLAlchemy writes an expanding IN's parameters anew at each execution; a hot statement's
    SQL is written once, so it says so instead of sending SQLAlchemy's placeholder."""
    either = HotStatement(sa.select(things.c.id).where(things.c.colour.in_([Colour.RED, Colour.GREEN])))
    with engine.connect() as connection, pytest.raises(ValueError, match="expanding IN"):
        either.first(connection, {})


def test_the_same_connection_runs_hot_statements_again_after_one_failed(engine):
    """Each driver connection keeps one cursor for its hot statements; a failure drops it, and the
    connection, rolled back, serves the next statement as before."""
    with engine.connect() as connection:
        INSERT.scalar(connection, a_thing())
        connection.commit()
        with pytest.raises(sa.exc.IntegrityError):
            INSERT.scalar(connection, a_thing())
        connection.rollback()
        assert BY_CODE.first(connection, {"code": "first"}).code == "first"
        assert INSERT.scalar(connection, a_thing("second")) is not None
        connection.commit()
    with engine.connect() as connection:
        assert GREEN_ONES.scalar(connection, {}) == 2



def test_the_statement_log_shows_a_hot_statement_as_sqlalchemy_shows_its_own(backend, new_database_url, caplog):
    """With SQLAlchemy's statement log on (``echo``), a hot statement is in it — its SQL, then its
    parameters — unless the engine hides parameters; with the log off, nothing is written."""
    url = new_database_url(backend)

    def logged(**options) -> list[str]:
        engine = sa.create_engine(url, **options, **engine_options(url))
        configure_engine(engine)
        metadata.create_all(engine)
        caplog.clear()
        with engine.connect() as connection:
            BY_CODE.first(connection, {"code": "first"})
        engine.dispose()
        return [record.getMessage() for record in caplog.records if record.name.startswith("sqlalchemy.engine")]

    def after_the_select(messages: list[str]) -> str:
        at = next(i for i, message in enumerate(messages) if message.startswith("SELECT") and "things.code" in message)
        return messages[at + 1]

    assert not any("things.code" in message for message in logged())
    shown = after_the_select(logged(echo=True))
    assert shown.startswith("[hot statement]") and "'first'" in shown
    hidden = after_the_select(logged(echo=True, hide_parameters=True))
    assert hidden == "[hot statement] [SQL parameters hidden due to hide_parameters=True]"
