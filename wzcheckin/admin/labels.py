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

# What each audit action means (the codes stay in the table and in exports; the desk shows words).
ACTION_LABELS = {
    "login": _l("Logged in"),
    "logout": _l("Logged out"),
    "admin.export": _l("Export (masked)"),
    "admin.export.unmasked": _l("Export with full numbers"),
    "activity.create": _l("Activity created"),
    "activity.update": _l("Activity changed"),
    "activity.poster": _l("Activity poster printed"),
    "activity.photo_view": _l("Check-in photo viewed"),
    "complaint.handle": _l("Complaint handled"),
    "complaint.reveal_phone": _l("Complainant's phone number revealed"),
    "data_bonus.export": _l("Data-bonus claims exported"),
    "data_bonus.results": _l("Data-bonus results uploaded"),
    "data_bonus.results_rejected": _l("Data-bonus results file refused"),
    "health_alert.acknowledge": _l("Health alert acknowledged"),
    "hukou.review.decide": _l("Household registration reviewed"),
    "import.enterprises": _l("Enterprises imported"),
    "import.workers": _l("Workers imported"),
    "import.venues": _l("Venues imported"),
    "hotline.case": _l("Hotline call recorded"),
    "hotline.search": _l("Hotline cases searched"),
    "import.pickup-points": _l("Pickup points imported"),
    "import.pickup_points": _l("Pickup points imported"),
    "keys.create": _l("Signing key created"),
    "keys.rotate": _l("Signing key rotated"),
    "keys.revoke": _l("Signing key revoked"),
    "keys.reencrypt": _l("Personal data re-encrypted"),
    "pass.issue": _l("Paper pass issued"),
    "password.reset": _l("Password reset"),
    "password.reset.official": _l("Password reset by an official"),
    "points.export": _l("Points exported"),
    "residence.appeal.file": _l("Appeal filed"),
    "residence.appeal.accepted": _l("Appeal accepted"),
    "residence.appeal.rejected": _l("Appeal rejected"),
    "residence.appeal.photo_view": _l("Appeal photo viewed"),
    "residence.correction": _l("Correction applied"),
    "residence.departure.record": _l("Departure recorded"),
    "residence.departure.found": _l("Departure found later"),
    "residence.departure.withdraw": _l("Departure withdrawn"),
    "residence.production.declare": _l("Production figures declared"),
    "residence.production.approved": _l("Production reward approved"),
    "residence.production.rejected": _l("Production reward rejected"),
    "residence.snapshot.official": _l("Cutoff run (official)"),
    "residence.snapshot.trial": _l("Cutoff run (trial)"),
    "residence.snapshot.preview": _l("Preview run"),
    "residence.subsidy.apply": _l("Retention subsidy applied for"),
    "residence.subsidy.approved": _l("Retention subsidy approved"),
    "residence.subsidy.rejected": _l("Retention subsidy rejected"),
    "residence.subsidy.paid": _l("Retention subsidy paid"),
    "retention.purge": _l("Old records purged"),
    "roster.confirm": _l("Employment confirmed"),
    "roster.remove": _l("Removed from the roster"),
    "review.approve": _l("Application approved"),
    "review.reject": _l("Application rejected"),
    "review.paid": _l("Payment recorded"),
    "review.payment_file": _l("Payment file exported"),
    "review.sample": _l("On-site checks sampled"),
    "review.onsite_check": _l("On-site check recorded"),
    "review.signals_compute": _l("Risk signals computed"),
    "service.create": _l("Service listing created"),
    "service.update": _l("Service listing changed"),
    "service.withdraw": _l("Service listing withdrawn"),
    "token.create": _l("API token issued"),
    "token.revoke": _l("API token revoked"),
    "training.claim_submit": _l("Training subsidy claimed"),
    "training.claim_approve": _l("Training subsidy approved"),
    "training.claim_reject": _l("Training subsidy rejected"),
    "training.completions": _l("Training completions recorded"),
    "training.course_create": _l("Course created"),
    "training.course_update": _l("Course changed"),
    "training.invoice_upload": _l("Training invoice uploaded"),
    "training.invoice_view": _l("Training invoice viewed"),
    "training.invoice_approve": _l("Training invoice approved"),
    "training.invoice_reject": _l("Training invoice rejected"),
    "user.create": _l("Account created"),
    "user.update": _l("Account changed"),
    "user.disable": _l("Account disabled"),
    "user.enable": _l("Account enabled"),
    "user.phone.change": _l("Phone number changed"),
    "user.phone.change.official": _l("Phone number changed by an official"),
    "venues.create": _l("Venue created"),
    "venues.update": _l("Venue changed"),
    "venues.hours_add": _l("Opening hours added"),
    "venues.hours_remove": _l("Opening hours removed"),
    "venues.slots_create": _l("Time slots created"),
    "venues.slots_generate": _l("Time slots generated"),
    "venues.slot_capacity": _l("Slot capacity changed"),
    "venues.slot_close": _l("Slot closed"),
    "visitor.register": _l("Visitor registered"),
    "welfare.confirm_handout": _l("Welfare-pack hand-over confirmed"),
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
