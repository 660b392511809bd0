"""What the database driver sent, for the tests that say which statements a request costs.

Read from the driver itself, below SQLAlchemy: the scan path's statements run on the driver's
cursor (``db.HotStatement``) and SQLAlchemy's cursor events never see them. SQLite: the sqlite3
module's trace callback (every statement, ``BEGIN`` and ``COMMIT`` included). PostgreSQL: libpq's
protocol trace, one entry per statement sent (a simple ``Query``, or an extended-protocol
``Parse``, or the ``Bind`` of a statement psycopg prepared earlier on that connection).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


class SentStatements:
    """The statements sent so far, oldest first; :meth:`take` returns them and starts afresh."""

    def __init__(self, backend: str):
        self.backend = backend
        self._sqlite: list[str] = []
        # Closed by close(), when statements_sent ends.
        self._trace = tempfile.TemporaryFile("w+") if backend == "postgresql" else None  # noqa: SIM115
        self._read_to = 0
        self._prepared: dict[str, str] = {}
        # PostgreSQL: the messages that wait for the server (a simple Query, an extended-protocol
        # Sync), so far.
        self.round_trips = 0

    def on_connect(self, dbapi_connection, _record) -> None:
        if self.backend == "sqlite":
            dbapi_connection.set_trace_callback(self._on_sqlite_statement)
        else:
            from psycopg import pq

            dbapi_connection.pgconn.trace(self._trace.fileno())
            dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)

    def close(self) -> None:
        if self._trace is not None:
            self._trace.close()

    def _on_sqlite_statement(self, statement: str) -> None:
        if not statement.startswith("--"):  # a trigger's own statements are reported as comments
            self._sqlite.append(" ".join(statement.split()))

    def take(self) -> list[str]:
        if self.backend == "sqlite":
            sent, self._sqlite = self._sqlite, []
            return [s for s in sent if not s.upper().startswith("PRAGMA")]
        self._trace.flush()
        self._trace.seek(self._read_to)
        text = self._trace.read()
        self._read_to = self._trace.tell()
        return self._postgresql_statements(text)

    def _postgresql_statements(self, text: str) -> list[str]:
        sent = []
        for line in _trace_records(text):
            fields = line.split("\t")
            if len(fields) < 3 or fields[0] != "F":
                continue
            message, rest = fields[2], "\t".join(fields[3:])
            if message in ("Query", "Sync"):
                self.round_trips += 1
            if message == "Query":
                sent.append(_unquote(rest))
            elif message == "Parse":
                name, sql = _quoted_fields(rest)[:2]
                if name:
                    self._prepared[name] = sql
                else:
                    sent.append(sql)
            elif message == "Bind":
                name = _quoted_fields(rest)[1]
                if name:
                    sent.append(self._prepared[name])
        return [" ".join(s.split()) for s in sent]


def _trace_records(text: str) -> list[str]:
    """The trace's messages, one each: an SQL text's own line breaks are written as they are, so a
    line that starts with neither direction (F: to the server, B: from it) continues the last."""
    records: list[str] = []
    for line in text.splitlines():
        if line.startswith(("F\t", "B\t")) or not records:
            records.append(line)
        else:
            records[-1] += "\n" + line
    return records


def _quoted_fields(text: str) -> list[str]:
    """The double-quoted fields of a libpq trace line's message, in order. libpq shortens a long
    field in its trace (an SQL text may end without its closing quote): the last field is then
    what the trace holds of it, enough for a test that reads a statement's first words."""
    fields, i = [], 0
    while (start := text.find('"', i)) != -1:
        end = start + 1
        while True:
            end = text.find('"', end)
            if end != -1 and text[end + 1:end + 2] == '"':  # a doubled quote inside the field
                end += 2
                continue
            break
        if end == -1:
            fields.append(text[start + 1:].replace('""', '"'))
            break
        fields.append(text[start + 1:end].replace('""', '"'))
        i = end + 1
    return fields


def _unquote(text: str) -> str:
    return _quoted_fields(text)[0]


@contextmanager
def statements_sent(engine: sa.Engine) -> Iterator[SentStatements]:
    """Every statement ``engine``'s connections send inside the block. The pool is emptied
    first, so every connection used is a traced one (and emptied again after)."""
    sent = SentStatements(engine.dialect.name)
    engine.dispose()
    sa.event.listen(engine, "connect", sent.on_connect)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "connect", sent.on_connect)
        engine.dispose()
        sent.close()
