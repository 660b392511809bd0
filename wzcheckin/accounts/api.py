"""Accounts room, API: who am I (any role)."""

from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from wzcheckin.accounts.models import Role
from wzcheckin.api import api_route

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
