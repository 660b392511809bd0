"""Review room: the domain error and its stable codes, in the reader's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wzcheckin.core.refusals import Refusal

MESSAGES = {
    "not_found": _l("There is no such application."),
    "unknown_policy": _l("Choose P6, P7 or P8."),
    "already_decided": _l("This application has already been decided."),
    "acknowledgement_required": _l("Acknowledge every signal with a note before approving."),
    "note_too_long": _l("A note is too long (500 characters at most)."),
    "already_approved_by_you": _l("You have already approved this application: a second official must approve it."),
    "onsite_check_pending": _l("This application was drawn for an on-site check: record the check first."),
    "onsite_not_drawn": _l("This application was not drawn for an on-site check."),
    "onsite_already_recorded": _l("The on-site check has already been recorded."),
    "note_required": _l("Write what the on-site check found."),
    "reason_required": _l("Give a reason for the rejection."),
    "reason_too_long": _l("The reason is too long (500 characters at most)."),
    "not_approved": _l("Only an approved application can be paid."),
    "already_paid": _l("This application has already been paid."),
    "nothing_to_draw": _l("No application is waiting to be drawn."),
    "not_your_policy": _l("Only the bureau that owns this policy decides its applications."),
    "sample_conflict": _l("Another official drew a sample at the same moment: try again."),
}


class ReviewError(Refusal):
    """A refusal by a review domain function; ``field`` is ``note-<signal id>`` for a missing
    acknowledgement. A refusal of the room that owns the application passes through as it is."""

    messages = MESSAGES


def error_message(code: str, **params) -> str:
    return ReviewError(code, **params).message
