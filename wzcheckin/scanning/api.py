"""Scanning room, API: ``POST /api/v1/scans`` — every staff scan, from the scanner page, a
scanner device or an offline upload."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from flask import jsonify
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import AwareDatetime, Field, PlainValidator

from wzcheckin import clock
from wzcheckin.api import api_route
from wzcheckin.api.shapes import ErrorBody, Instant, PydanticCustomError, Refuse, RequestModel, Shape
from wzcheckin.codes.context import current_keyring
from wzcheckin.core import context
from wzcheckin.core.api_errors import ApiError
from wzcheckin.core.auth import current_checkpoint
from wzcheckin.core.readings import parse_temperature
from wzcheckin.core.roles import SCANNING_ROLES
from wzcheckin.db import is_unique_violation, unit_of_work
from wzcheckin.extensions import db
from wzcheckin.scanning.messages import INPUT_MESSAGES, reason_message
from wzcheckin.scanning.models import Scan
from wzcheckin.scanning.services import (
    SCAN_ID_PATTERN,
    ScanFacts,
    ScanIdConflict,
    ScanInput,
    find_scan,
    judge_code,
    new_scan_id,
    record_scan,
)


def _instant(value: object) -> datetime | None:
    """``scanned_at``: an ISO-8601 instant with a UTC offset, in UTC (an instant at the very edge
    of the calendar has no UTC form: an overflow, refused alike)."""
    if value is None:
        return None
    try:
        instant = datetime.fromisoformat(value) if isinstance(value, str) else None
        if instant is not None and instant.tzinfo is not None:
            return instant.astimezone(UTC)
    except (ValueError, OverflowError):
        pass
    raise PydanticCustomError("invalid_scanned_at", "not an instant with a UTC offset")


def _temperature(value: object) -> Decimal | None:
    """As given, never rounded: the fever check compares the reading itself (37.25 < 37.3).
    str() of a JSON float is its shortest form, so 37.25 arrives as Decimal("37.25")."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("temperature_format", "a number in °C")
    try:
        return parse_temperature(str(value))
    except ValueError as exc:
        raise PydanticCustomError(str(exc), "a temperature") from None


TEMPERATURE_REFUSAL = Refuse("invalid_temperature", _l("temperature: a number in °C"), by_type={
    "temperature_range": Refuse("invalid_temperature", _l("temperature: between 30 and 45 °C")),
    "temperature_precision": Refuse("invalid_temperature", _l("temperature: at most two decimals")),
})


class ScanRequest(RequestModel):
    """A staff scan. Optional fields may be null, which means "not given". Fields are checked in
    this order; the first wrong one is the answer's code."""

    token: Annotated[str, Field(min_length=1, max_length=256), Refuse(
        "token_required", _l("token: a non-empty string is required"),
        by_type={"string_too_long": Refuse("token_too_long", _l("token: at most 256 characters"))})]
    scanned_at: Annotated[datetime | None, PlainValidator(_instant, json_schema_input_type=AwareDatetime | None),
                          Refuse("invalid_scanned_at", _l("scanned_at: an ISO-8601 instant with a UTC offset"))] = None
    mask: Annotated[bool | None, Refuse("invalid_mask", _l("mask: true or false"))] = None
    temperature: Annotated[
        Decimal | None,
        PlainValidator(_temperature, json_schema_input_type=Annotated[float, Field(ge=30, le=45)] | None),
        TEMPERATURE_REFUSAL] = None
    device: Annotated[str | None, Field(max_length=64),
                      Refuse("invalid_device", _l("device: at most 64 characters"))] = None
    symptoms: Annotated[bool | None, Refuse("invalid_symptoms", _l("symptoms: true or false"))] = None
    scan_id: Annotated[str | None, Field(pattern=SCAN_ID_PATTERN.pattern),
                       Refuse("invalid_scan_id", INPUT_MESSAGES["invalid_scan_id"])] = None

    def scan_input(self) -> ScanInput:
        # The model checked the scan_id's pattern; none given: the server makes one.
        return ScanInput(token=self.token, scan_id=self.scan_id or new_scan_id(), scanned_at=self.scanned_at,
                         mask=self.mask, temperature=self.temperature, device=self.device,
                         symptoms=bool(self.symptoms))


class ScanAnswer(Shape):
    """What a scan meant: ``reason`` a stable code, ``message`` in the caller's language."""

    scan_id: str
    result: Literal["accepted", "rejected"]
    reason: str
    message: str
    subject: dict[str, Any] | None
    scanned_at: Instant | None = None
    replayed: bool | None = None
    # false: refused by the server's clock (scan_in_future) and not stored — keep the scan
    # queued and send the same scan_id again later; it will be judged anew.
    final: bool | None = None


def scan_answer(scan: ScanFacts | Scan, replayed: bool, final: bool = True) -> dict:
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
           body=ScanRequest, responses={200: ScanAnswer, 409: ErrorBody, 422: ErrorBody},
           bearer_principal=True, begins_at_first_write=True)
def post_scan(body: ScanRequest):
    # bearer_principal: a device's caller is read as one Core row (id, role, language, checkpoint).
    # record_scan and every scan handler read only the staff member's id and the checkpoint's
    # columns (id, kind, enterprise_id) — keep it so, or drop the flag.
    data = body.scan_input()
    checkpoint = current_checkpoint()
    staff = current_user._get_current_object()
    keyring, programme, now = current_keyring(), context.programme(), clock.now()
    # The code is judged before the write transaction begins: on SQLite, where writers take turns,
    # the lock is then held for the claim, the handler and the insert only, not the signature check.
    judged = judge_code(data, keyring, programme, now)
    try:
        with unit_of_work(db.session):
            recorded = record_scan(db.session, staff=staff, checkpoint=checkpoint, data=data,
                                   keyring=keyring, programme=programme, now=now, judged=judged)
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
    return jsonify(scan_answer(recorded.facts, recorded.replayed, recorded.final))
