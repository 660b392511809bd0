"""A pooled PostgreSQL connection is checked as it leaves the pool, without a round trip
(``db._refuse_connection_closed_while_idle``): a healthy one goes out as it is, one the server
ended while it sat in the pool is replaced before any request uses it."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from wzcheckin.db import configure_engine, engine_options


@pytest.fixture
def pooled_engine(postgres_only, fresh_database):
    engine = sa.create_engine(fresh_database, **engine_options(fresh_database))
    configure_engine(engine)
    yield engine
    engine.dispose()


def backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()


def test_a_connection_the_server_ended_while_idle_is_replaced_as_it_leaves_the_pool(pooled_engine,
                                                                                  postgres_admin_url):
    first = backend_pid(pooled_engine)
    admin = sa.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as control:
            assert control.exec_driver_sql(f"SELECT pg_terminate_backend({first})").scalar_one()
            deadline = time.monotonic() + 10
            while control.exec_driver_sql(f"SELECT count(*) FROM pg_stat_activity WHERE pid = {first}").scalar_one():
                assert time.monotonic() < deadline, "the backend did not exit"
                time.sleep(0.05)
    finally:
        admin.dispose()
    # The pooled connection is dead; the next request gets a new one and no error.
    assert backend_pid(pooled_engine) != first


def test_a_healthy_pooled_connection_leaves_the_pool_without_a_round_trip(pooled_engine, tmp_path):
    with pooled_engine.connect() as connection:
        raw = connection.connection.dbapi_connection
    trace_path = tmp_path / "libpq.trace"
    with trace_path.open("w") as trace:
        raw.pgconn.trace(trace.fileno())
        try:
            with pooled_engine.connect() as connection:
                assert connection.connection.dbapi_connection is raw  # the pooled one, checked out again
            trace.flush()
            at_checkout = trace_path.read_text()
            with pooled_engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
            trace.flush()
            after_a_query = trace_path.read_text()
        finally:
            raw.pgconn.untrace()
    assert at_checkout == ""  # pool_pre_ping would have sent a query here
    assert "Query" in after_a_query or "Parse" in after_a_query  # the trace does see what is sent
