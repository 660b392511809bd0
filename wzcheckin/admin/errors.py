"""Admin room: the desk's refusals — an unmasked export's reason, an as-of instant, a hotline case
— and what they say. Codes are stable; a phone or credit-code format code falls back to the shared
field errors (``core.i18n``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wzcheckin.core.refusals import Refusal

MESSAGES = {
    # exports
    "no_snapshot": _l("No snapshot yet: nothing to export."),
    "reason_required": _l("Give the reason you need the full numbers."),
    "reason_too_short": _l("Say a little more: at least %(n)s characters."),
    "reason_too_long": _l("At most %(n)s characters."),
    # figures
    "instant_format": _l("That instant was not understood (a date and time such as 2021-02-14 12:00); showing now."),
    "instant_future": _l("That instant has not come yet: nothing is known of it. Showing now."),
    # hotline
    "topic_required": _l("Choose the topic of the call."),
    "outcome_required": _l("Choose the outcome of the call."),
    "note_required": _l("Write what the caller asked and what they were told."),
    "note_too_long": _l("The note is too long (1,000 characters at most)."),
    "unknown_enterprise": _l("No enterprise in the programme has this credit code."),
    "search_unclear": _l("Type a mobile number (full, or masked as 138****1234) or an 18-character credit code."),
}


class AdminRefusal(Refusal):
    """A refusal by an admin domain function (codes and words above)."""

    messages = MESSAGES
    status = 422
