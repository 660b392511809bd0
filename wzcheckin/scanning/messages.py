"""What each scan reason says to the person holding the scanner, in their language. Reason
codes are stable API; the words may change. ``details`` of the scan fill the placeholders."""

from __future__ import annotations

import contextlib

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from wzcheckin.codes.errors import MESSAGES as CODES_MESSAGES
from wzcheckin.core.dates import shown

# A scan request that is itself malformed (not a refusal of the code it carries).
INPUT_MESSAGES = {
    "invalid_scan_id": _l("scan_id: 8–64 characters of letters, digits and _ . : -"),
}

REASON_MESSAGES = {
    # accepted
    "entry_allowed": _l("Entry allowed."),
    "redeemed": _l("Reservation valid: welcome."),
    "pack_handed_out": _l("Hand out one welfare pack."),
    "attendance_recorded": _l("Attendance recorded."),
    # refused, any checkpoint
    "invalid_token": CODES_MESSAGES["invalid_token"],
    "expired": CODES_MESSAGES["expired"],
    "revoked": CODES_MESSAGES["revoked"],
    "revoked_key": CODES_MESSAGES["revoked_key"],
    "wrong_kind": CODES_MESSAGES["wrong_kind"],
    "scan_too_old": _l("This queued scan is too old to be accepted (over %(max_age_hours)s hours)."),
    "scan_in_future": _l("The scanner's clock is ahead: check the date and time on the device."),
    "scanned_at_outside_code": _l("The scan time lies outside the time this code was valid: not accepted."),
    "before_registration": _l("The scan time is before this worker was registered: not accepted."),
    "checkpoint_unavailable": _l("This checkpoint cannot accept scans yet."),
    # gates
    "not_employee": _l("Not an employee of this enterprise: register as a visitor."),
    "no_mask": _l("No mask: entry refused."),
    "fever": _l("Temperature %(temperature)s °C: entry refused. Advise the fever clinic; reported."),
    "symptoms": _l("Symptoms reported: entry refused. Advise the fever clinic; reported."),
    "checks_missing": _l("Record the mask and temperature checks first."),
    # venues
    "wrong_venue": _l("This booking is for another venue: %(venue)s."),
    "outside_slot": _l("Outside the booked time: %(slot)s."),
    "already_used": _l("This booking has already been used."),
    "cancelled": _l("This booking was cancelled."),
    # pickup points
    "already_collected": _l("Already collected on %(when)s at %(where)s."),
    "out_of_stock": _l("Out of stock at this pickup point."),
    "not_eligible": _l("Not eligible: %(why)s."),
}
# The codes defined here; rooms add theirs with ``REASON_MESSAGES.update(...)`` and test them.
BASE_REASONS = tuple(REASON_MESSAGES)

# Coded values inside a scan's ``details`` that are words, not data: stored as the code (so a
# replayed answer can be given in the replaying caller's language) and translated when shown.
# Rooms add theirs with ``DETAIL_MESSAGES.update(...)`` as they do for ``REASON_MESSAGES``.
DETAIL_MESSAGES = {
    "not_pledged": _l("no pledge to stay in Wenzhou"),
    "home_hukou": _l("Wenzhou household registration"),
}


def _format_details(details: dict | None) -> dict:
    values = dict(details or {})
    for key, value in list(values.items()):
        if isinstance(value, str) and value in DETAIL_MESSAGES:
            values[key] = str(DETAIL_MESSAGES[value])
        if key.endswith("_at") and isinstance(value, str):
            from datetime import datetime

            with contextlib.suppress(ValueError):
                values[key.removesuffix("_at")] = shown(datetime.fromisoformat(value))
    return values


# Each reason's words per language, translated once per process rather than once per scan
# (a catalogue is loaded at start-up and never changes while the process runs).
_TRANSLATED: dict[tuple[str, str], str] = {}


def reason_message(reason: str, details: dict | None = None) -> str:
    template = REASON_MESSAGES.get(reason)
    if template is None:
        return reason
    key = (str(get_locale()), reason)
    text = _TRANSLATED.get(key)
    if text is None:
        text = _TRANSLATED[key] = str(template)
    try:
        return text % _format_details(details) if "%(" in text else text
    except (KeyError, ValueError, TypeError):
        return text.split(":")[0].split("%(")[0].strip()
