"""The floor reference: the smallest Flask app that does a scan's unavoidable work — verify one
Ed25519 token, read one row by key, insert one row, commit — on the same database and the same
token format as wzcheckin. Every scan figure is also quoted as a ratio to this app's, measured
in the same run by the same harness.

Run under gunicorn with ``BENCH_DATABASE_URL`` set: ``gunicorn bench.floor_app:app``.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask, Response, request

DATABASE_URL = os.environ["BENCH_DATABASE_URL"]
_sqlite = DATABASE_URL.startswith("sqlite")
engine = sa.create_engine(DATABASE_URL, connect_args={"timeout": 30} if _sqlite else {},
                          **({} if _sqlite else {"pool_size": 5}))

if _sqlite:
    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    @sa.event.listens_for(engine, "begin")
    def _begin(connection):
        # Without IMMEDIATE the read-then-write would fail with "database is locked" under load.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

metadata = sa.MetaData()
floor_scans = sa.Table(
    "floor_scans", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("scan_id", sa.String(64), unique=True, nullable=False),
    sa.Column("worker_id", sa.Integer, nullable=True),
    sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
)
metadata.create_all(engine)  # bench scratch table, not part of the app's schema

with engine.connect() as _connection:
    _keys = {row.key_id: Ed25519PublicKey.from_public_bytes(row.public_key)
             for row in _connection.execute(sa.text("SELECT key_id, public_key FROM signing_keys"))}
engine.dispose()  # no pooled connection may cross gunicorn's fork (the floor is preloaded, as the app is)

HEADER = struct.Struct(">BBI8sII")  # wzcheckin.codes.tokens, version 2
app = Flask(__name__)


def _verify(token: str) -> bytes | None:
    try:
        raw = base64.b32decode(token + "=" * (-len(token) % 8))
    except ValueError:
        return None
    if len(raw) != HEADER.size + 64:
        return None
    _version, _kind, key_id, subject, _issued, expires = HEADER.unpack(raw[:HEADER.size])
    key = _keys.get(key_id)
    if key is None or expires <= datetime.now(UTC).timestamp():
        return None
    try:
        key.verify(raw[HEADER.size:], raw[:HEADER.size])
    except InvalidSignature:
        return None
    return subject


@app.post("/api/v1/scans")
def scan():
    body = request.get_json()
    subject = _verify(body["token"])
    if subject is None:
        return Response(json.dumps({"result": "rejected"}), mimetype="application/json")
    with engine.begin() as connection:
        worker_id = connection.execute(sa.text("SELECT id FROM workers WHERE public_id = :p"),
                                       {"p": subject.hex()}).scalar()
        connection.execute(floor_scans.insert().values(scan_id=body.get("scan_id") or uuid.uuid4().hex,
                                                       worker_id=worker_id, scanned_at=datetime.now(UTC)))
    return Response(json.dumps({"result": "accepted"}), mimetype="application/json")


@app.get("/healthz")
def health():
    return {"status": "ok"}
