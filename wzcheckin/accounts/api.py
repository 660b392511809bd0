"""Accounts room, API: who am I (any role)."""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from wzcheckin import clock
from wzcheckin.accounts.models import Role
from wzcheckin.api import api_route
from wzcheckin.core import context
from wzcheckin.core.auth import current_worker
from wzcheckin.core.home import worker_standing
from wzcheckin.extensions import db

WHOAMI_SCHEMA = {
    "type": "object",
    "required": ["role", "phone"],
    "properties": {"role": {"type": "string"}, "phone": {"type": "string"},
                   "checkpoint": {"type": ["string", "null"]}},
}


@api_route("/whoami", methods=["GET"], roles=tuple(Role), tag="accounts",
           summary="The authenticated account: role, masked phone, checkpoint", responses={200: WHOAMI_SCHEMA})
def whoami():
    checkpoint = current_user.checkpoint
    return jsonify({
        "role": str(current_user.role),
        "phone": current_user.phone_masked,
        "display_name": current_user.display_name,
        "checkpoint": checkpoint.ref if checkpoint else None,
        "checkpoint_kind": str(checkpoint.kind) if checkpoint else None,
        "carrier": current_user.carrier,
    })


ME_SCHEMA = {
    "type": "object",
    "required": ["points", "welfare_pack", "data_bonus", "evidence_windows", "confirmed"],
    "properties": {
        "points": {"type": "integer"},
        "welfare_pack": {"enum": ["collected", "not_collected"]},
        "data_bonus": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}},
        "evidence_windows": {"type": "array", "items": {
            "type": "object", "required": ["name", "satisfied"],
            "properties": {"name": {"type": "string"}, "satisfied": {"type": "boolean"}}}},
        "confirmed": {"type": ["boolean", "null"]},
    },
}


@api_route("/me", methods=["GET"], roles=(Role.WORKER,), tag="worker",
           summary="The worker's standing at a glance: points, welfare pack, data bonus, evidence, confirmation",
           responses={200: ME_SCHEMA})
def me():
    worker = current_worker()
    standing = worker_standing(db.session, worker, context.programme(), clock.now())
    return jsonify({"name": worker.name[:1] + "*" * (len(worker.name) - 1), **standing})
