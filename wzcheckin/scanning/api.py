"""Scanning room, API: ``POST /api/v1/scans`` — every staff scan, from the scanner page, a
scanner device or an offline upload."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask import jsonify
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from wzcheckin import clock
from wzcheckin.accounts.models import SCANNING_ROLES
from wzcheckin.api import api_route, json_body
from wzcheckin.api.errors import ApiError
from wzcheckin.api.openapi import ERROR_SCHEMA
from wzcheckin.codes.context import current_keyring
from wzcheckin.core import context
from wzcheckin.core.auth import current_checkpoint
from wzcheckin.core.readings import parse_temperature
from wzcheckin.db import is_unique_violation, unit_of_work
from wzcheckin.extensions import db
from wzcheckin.scanning.messages import reason_message
from wzcheckin.scanning.services import (
    ScanIdConflict,
    ScanInput,
    ScanInputError,
    find_scan,
    record_scan,
    validate_scan_id,
)

SCAN_REQUEST = {
    "type": "object",
    "required": ["token"],
    # Optional fields may be null, which means "not given".
    "properties": {
        "token": {"type": "string", "minLength": 1, "maxLength": 256},
        "scan_id": {"type": ["string", "null"], "pattern": "^[A-Za-z0-9_.:\\-]{8,64}$"},
        "scanned_at": {"type": ["string", "null"], "format": "date-time"},
        "mask": {"type": ["boolean", "null"]},
        "temperature": {"type": ["number", "null"], "minimum": 30, "maximum": 45},
        "symptoms": {"type": ["boolean", "null"]},
        "device": {"type": ["string", "null"], "maxLength": 64},
    },
    "additionalProperties": False,
}
SCAN_RESPONSE = {
    "type": "object",
    "required": ["scan_id", "result", "reason", "message", "subject"],
    "properties": {
        "scan_id": {"type": "string"},
        "result": {"enum": ["accepted", "rejected"]},
        "reason": {"type": "string"},
        "message": {"type": "string"},
        "subject": {"type": ["object", "null"]},
        "scanned_at": {"type": "string"},
        "replayed": {"type": "boolean"},
        # false: refused by the server's clock (scan_in_future) and not stored — keep the scan
        # queued and send the same scan_id again later; it will be judged anew.
        "final": {"type": "boolean"},
    },
}


# Input errors raised by the domain function (``validate_scan_id``), in the caller's language.
INPUT_MESSAGES = {
    "invalid_scan_id": _l("scan_id: 8–64 characters of letters, digits and _ . : -"),
}


def parse_scan_request(body: dict) -> ScanInput:
    unknown = set(body) - set(SCAN_REQUEST["properties"])
    if unknown:
        raise ScanInputError("unknown_field", _("Unknown field(s): %(fields)s", fields=", ".join(sorted(unknown))))
    token = body.get("token")
    if not isinstance(token, str) or not token:
        raise ScanInputError("token_required", _("token: a non-empty string is required"))
    if len(token) > 256:
        raise ScanInputError("token_too_long", _("token: at most 256 characters"))
    scanned_at = None
    if body.get("scanned_at") is not None:
        raw = body["scanned_at"]
        try:
            scanned_at = datetime.fromisoformat(raw) if isinstance(raw, str) else None
            # In UTC now: an instant at the very edge of the calendar has no UTC form (an overflow).
            scanned_at = scanned_at.astimezone(UTC) if scanned_at is not None and scanned_at.tzinfo else None
        except (ValueError, OverflowError):
            scanned_at = None
        if scanned_at is None:
            raise ScanInputError("invalid_scanned_at", _("scanned_at: an ISO-8601 instant with a UTC offset"))
    mask = body.get("mask")
    if mask is not None and not isinstance(mask, bool):
        raise ScanInputError("invalid_mask", _("mask: true or false"))
    temperature = body.get("temperature")
    if temperature is not None:
        if isinstance(temperature, bool) or not isinstance(temperature, int | float):
            raise ScanInputError("invalid_temperature", _("temperature: a number in °C"))
        # As given, never rounded: the fever check compares the reading itself (37.25 < 37.3).
        # str() of a JSON float is its shortest form, so 37.25 arrives as Decimal("37.25").
        try:
            temperature = parse_temperature(str(temperature))
        except ValueError as exc:
            raise ScanInputError("invalid_temperature", {
                "temperature_range": _("temperature: between 30 and 45 °C"),
                "temperature_precision": _("temperature: at most two decimals"),
            }.get(str(exc), _("temperature: a number in °C"))) from None
    device = body.get("device")
    if device is not None and (not isinstance(device, str) or len(device) > 64):
        raise ScanInputError("invalid_device", _("device: at most 64 characters"))
    symptoms = body.get("symptoms")
    if symptoms is not None and not isinstance(symptoms, bool):
        raise ScanInputError("invalid_symptoms", _("symptoms: true or false"))
    return ScanInput(token=token, scan_id=validate_scan_id(body.get("scan_id")), scanned_at=scanned_at,
                     mask=mask, temperature=temperature, device=device, symptoms=bool(symptoms))


def scan_answer(scan, replayed: bool, final: bool = True) -> dict:
    return {
        "scan_id": scan.scan_id,
        "result": str(scan.result),
        "reason": scan.reason,
        "message": reason_message(scan.reason, scan.details),
        "subject": scan.subject,
        "scanned_at": scan.scanned_at.isoformat(),
        "replayed": replayed,
        "final": final,
    }


@api_route("/scans", methods=["POST"], roles=SCANNING_ROLES, tag="scanning",
           summary="Record a staff scan at the caller's checkpoint (idempotent by scan_id)",
           request_schema=SCAN_REQUEST, responses={200: SCAN_RESPONSE, 409: ERROR_SCHEMA, 422: ERROR_SCHEMA})
def post_scan():
    try:
        data = parse_scan_request(json_body())
    except ScanInputError as exc:
        raise ApiError(422, exc.code, INPUT_MESSAGES.get(exc.code, str(exc))) from None
    checkpoint = current_checkpoint()
    staff = current_user._get_current_object()
    try:
        with unit_of_work(db.session):
            recorded = record_scan(db.session, staff=staff, checkpoint=checkpoint, data=data,
                                   keyring=current_keyring(), programme=context.programme(), now=clock.now())
    except ScanIdConflict:
        raise ApiError(409, "scan_id_conflict", _("This scan_id was used by another account.")) from None
    except sa.exc.IntegrityError as exc:
        # A concurrent upload of the same scan_id committed first: answer as it was answered.
        if not is_unique_violation(exc):
            raise
        first = find_scan(db.session, data.scan_id)
        if first is None:
            raise
        if first.staff_user_id != staff.id:
            raise ApiError(409, "scan_id_conflict", _("This scan_id was used by another account.")) from None
        return jsonify(scan_answer(first, replayed=True))
    return jsonify(scan_answer(recorded.scan, recorded.replayed, recorded.final))
