"""Admin room, the words for the codes the desk shows (checkpoint kinds, registration channels,
claim statuses, roles), in the reader's language. Codes stay codes in exported files."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wzcheckin.core import context

SCAN_KIND_LABELS = {
    "gate": _l("Gate entry"),
    "venue": _l("Venue entry"),
    "pickup": _l("Welfare-pack pickup"),
    "training": _l("Training attendance"),
}

CHANNEL_LABELS = {
    "self": _l("Registered themselves"),
    "roster": _l("On an enterprise roster"),
}

CLAIM_STATUS_LABELS = {
    "pending": _l("With the carrier"),
    "fulfilled": _l("Delivered"),
    "failed": _l("Not delivered"),
}

ROLE_LABELS = {
    "worker": _l("Worker"),
    "gatekeeper": _l("Gatekeeper"),
    "enterprise_admin": _l("Enterprise admin"),
    "venue_staff": _l("Venue staff"),
    "pickup_staff": _l("Pickup staff"),
    "carrier": _l("Carrier"),
    "official": _l("Programme office"),
    "hr_official": _l("Human resources bureau"),
    "economy_official": _l("Economy and IT bureau"),
    "health_official": _l("Health commission"),
    "police_official": _l("Public security bureau"),
    "auditor": _l("Auditor"),
    "cli": _l("Command line"),
    "scheduler": _l("Scheduler"),
}


def label(mapping: dict, code: str | None) -> str:
    if code is None:
        return ""
    found = mapping.get(str(code))
    return str(found) if found is not None else str(code)


def carrier_label(code: str, english: bool) -> str:
    carrier = context.programme().data_bonus.carriers.get(code)
    if carrier is None:
        return code
    return (carrier.name_en or carrier.name) if english else carrier.name
