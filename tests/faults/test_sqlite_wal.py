"""SQLite on a small disk: the WAL grows while a long reader pins an old snapshot (unavoidable),
and shrinks back to the journal size limit once the reader is gone (it used to keep its 50 MB
high-water mark forever)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from wzcheckin.db import SQLITE_JOURNAL_SIZE_LIMIT_BYTES, configure_engine, engine_options, unit_of_work

ROW = 64 * 1024


def write_rows(engine: sa.Engine, count: int) -> None:
    for _ in range(count):
        with unit_of_work(Session(engine)) as session:
            session.execute(sa.text("INSERT INTO blobs (body) VALUES (randomblob(:size))"), {"size": ROW})


def test_the_wal_shrinks_back_after_a_long_reader(tmp_path):
    path = tmp_path / "wal.sqlite3"
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url, **engine_options(url))
    configure_engine(engine)
    wal = tmp_path / "wal.sqlite3-wal"
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB)")
    write_rows(engine, 1)

    reader = engine.connect()  # an export reading for a long time
    reader.begin()
    reader.exec_driver_sql("SELECT count(*) FROM blobs").scalar()
    grown_to = SQLITE_JOURNAL_SIZE_LIMIT_BYTES * 3 // 2
    write_rows(engine, grown_to // ROW)
    assert wal.stat().st_size > SQLITE_JOURNAL_SIZE_LIMIT_BYTES  # it had to grow behind the reader
    reader.rollback()
    reader.close()

    write_rows(engine, 3)  # the next commits checkpoint, then start the WAL over
    assert wal.stat().st_size <= SQLITE_JOURNAL_SIZE_LIMIT_BYTES
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM blobs").scalar() == 1 + grown_to // ROW + 3
        assert connection.exec_driver_sql("PRAGMA journal_size_limit").scalar() == SQLITE_JOURNAL_SIZE_LIMIT_BYTES
    engine.dispose()
