"""Welfare room, API: pickup staff confirm on screen that a pack was handed over."""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from wzcheckin import clock
from wzcheckin.api import api_route
from wzcheckin.api.shapes import ErrorBody, Instant, Shape
from wzcheckin.core.api_errors import ApiError
from wzcheckin.core.audit import record_audit
from wzcheckin.core.roles import Role
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db
from wzcheckin.welfare.services import HandoutNotFound, confirm_handout


class HandoutConfirmed(Shape):
    scan_id: str
    confirmed_at: Instant


@api_route("/pickups/<scan_id>/confirm", methods=["POST"], roles=(Role.PICKUP_STAFF,), tag="welfare",
           summary="Confirm that the welfare pack of an accepted pickup scan was handed over",
           responses={200: HandoutConfirmed, 404: ErrorBody})
def confirm_pickup(scan_id: str):
    staff = current_user._get_current_object()
    now = clock.now()
    try:
        with unit_of_work(db.session):
            handout = confirm_handout(db.session, scan_id=scan_id[:64], staff=staff, now=now)
            record_audit(db.session, at=now, actor=staff, action="welfare.confirm_handout",
                         target_type="pack_handout", target_id=handout.id, ip=request.remote_addr)
            confirmed_at = handout.confirmed_at
    except HandoutNotFound:
        raise ApiError(404, "not_found", _("No pack was handed out at your pickup point with this scan.")) from None
    return jsonify({"scan_id": scan_id, "confirmed_at": confirmed_at.isoformat()})
