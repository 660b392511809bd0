"""Builders for scanning tests: staff at each kind of checkpoint, codes, and scans through the
real API with a bearer token (as a scanner device would send them)."""

from __future__ import annotations

import uuid
from datetime import datetime

from tests.builders import gate_of, make_enterprise, make_user, make_worker
from wzcheckin.accounts.api_tokens import issue_api_token
from wzcheckin.codes.passes import current_pass
from wzcheckin.core.roles import Role


def scan_id() -> str:
    return uuid.uuid4().hex


def bearer(db, user, now: datetime) -> dict:
    token = issue_api_token(db, user, now, label="test")
    return {"Authorization": f"Bearer {token}"}


def post_scan(client, headers: dict, token: str, **fields):
    body = {"token": token, **fields}
    return client.post("/api/v1/scans", json=body, headers=headers)


def gate_setup(db, vault, programme, **worker_fields):
    """An enterprise, its gatekeeper and one of its workers."""
    enterprise = make_enterprise(db, vault)
    gate = gate_of(db, enterprise)
    gatekeeper = make_user(db, vault, Role.GATEKEEPER, checkpoint=gate)
    worker = make_worker(db, vault, programme, enterprise=enterprise, **worker_fields)
    return enterprise, gate, gatekeeper, worker


def pass_token(worker, keyring, programme, now: datetime) -> str:
    return current_pass(worker, keyring, programme, now).token
