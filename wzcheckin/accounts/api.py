"""Accounts room, API: who am I (any role)."""

from __future__ import annotations

from typing import Literal

from flask import jsonify
from flask_login import current_user
from pydantic import ConfigDict

from wzcheckin import clock
from wzcheckin.api import api_route
from wzcheckin.api.shapes import Shape
from wzcheckin.core import context
from wzcheckin.core.auth import current_worker
from wzcheckin.core.home import worker_standing
from wzcheckin.core.roles import Role
from wzcheckin.extensions import db


class WhoAmI(Shape):
    role: Role
    phone: str  # masked
    display_name: str | None = None
    checkpoint: str | None = None
    checkpoint_kind: str | None = None
    carrier: str | None = None


@api_route("/whoami", methods=["GET"], roles=tuple(Role), tag="accounts",
           summary="The authenticated account: role, masked phone, checkpoint", responses={200: WhoAmI})
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


class EvidenceWindowStanding(Shape):
    model_config = ConfigDict(extra="allow")

    name: str
    satisfied: bool


class DataBonusStanding(Shape):
    model_config = ConfigDict(extra="allow")

    status: str


class Standing(Shape):
    """The worker's standing at a glance (SPEC §6). Each room adds its own keys (its
    ``home.standing``), so more keys than these may come."""

    model_config = ConfigDict(extra="allow")

    name: str  # masked
    points: int
    welfare_pack: Literal["collected", "not_collected"]
    data_bonus: DataBonusStanding
    evidence_windows: list[EvidenceWindowStanding]
    confirmed: bool | None  # null before the cutoff


@api_route("/me", methods=["GET"], roles=(Role.WORKER,), tag="worker",
           summary="The worker's standing at a glance: points, welfare pack, data bonus, evidence, confirmation",
           responses={200: Standing})
def me():
    worker = current_worker()
    standing = worker_standing(db.session, worker, context.programme(), clock.now())
    return jsonify({"name": worker.name[:1] + "*" * (len(worker.name) - 1), **standing})
