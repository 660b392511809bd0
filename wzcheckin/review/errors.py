"""Review room: the domain error and its stable codes, in the reader's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wzcheckin.core.i18n import catalogue_message


class ReviewError(Exception):
    """A refusal by a review domain function: ``code`` is stable; ``field`` names the form field
    it belongs to (``note-<signal id>`` for a missing acknowledgement). ``text`` carries the
    message of a refusal passed on from the room that owns the application."""

    def __init__(self, code: str, field: str | None = None, text: str | None = None, **params):
        super().__init__(code)
        self.code = code
        self.field = field
        self.text = text
        self.params = params

    @property
    def message(self) -> str:
        if self.text:
            return self.text
        return error_message(self.code, **self.params)


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


def error_message(code: str, **params) -> str:
    return catalogue_message(MESSAGES, code, params)
