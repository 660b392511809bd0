"""Benefits room: the domain refusal and what each refusal code says to people.

Domain functions raise :class:`BenefitRefused` (a ``core.refusals.Refusal`` bound to the table
below); the API turns it into ``{"error": {"code", "message"}}``, a page into a flash message or a
field error.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wzcheckin.core.refusals import Refusal

MESSAGES = {
    # data bonus
    "already_claimed": _l("You have already claimed the data bonus."),
    "not_eligible": _l("Only workers from outside Wenzhou who pledged to stay can claim this."),
    "not_pledged": _l("Pledge to stay in Wenzhou first."),
    "home_hukou": _l("Workers with a Wenzhou household registration are not eligible."),
    "carrier_required": _l("Choose your carrier: we cannot tell it from your number."),
    "carrier_unknown": _l("Choose China Mobile, China Unicom or China Telecom."),
    "not_claimed": _l("You have not claimed the data bonus yet."),
    "claim_settled": _l("This claim has been fulfilled; it can no longer be changed."),
    "claim_not_open": _l("The data bonus can be claimed from %(opens)s."),
    "claim_window_closed": _l("The data bonus could be claimed until %(closes)s; the claim period is over."),
    "departed": _l("You recorded leaving Wenzhou: the data bonus is for workers who stay."),
    # training
    "course_closed": _l("This course has ended."),
    "course_full": _l("This course is full."),
    "not_employee": _l("This course is for the organising enterprise's own employees."),
    "already_enrolled": _l("You are already enrolled in this course."),
    "nothing_to_claim": _l("There is nothing to claim yet: no qualifying training was recorded."),
    "claim_exists": _l("A claim is already submitted or approved for this enterprise."),
    "already_reviewed": _l("This claim has already been reviewed."),
    "reason_required": _l("Give a reason."),
    "code_taken": _l("Another course already uses this code."),
    "course_unknown": _l("No such course."),
    "claim_deadline_passed": _l("The training claim deadline (%(deadline)s) has passed."),
    "session_format": _l("Write each class session as a date and its class hours, e.g. 2021-02-15 4, one per line."),
    "session_hours": _l("A class session carries 1 to 24 class hours."),
    "session_repeated": _l("Two class sessions on the same day."),
    "session_outside_course": _l("A class session lies outside the course's first and last day."),
    "session_hours_total": _l("The class sessions' hours must add up to the course's class hours."),
    "session_attended": _l("A class session with recorded attendance keeps its day and its hours."),
    "invoice_online_only": _l("Invoices are attached to online courses organised by an enterprise."),
    "invoice_no_format": _l("Use the invoice number as printed: letters, digits and -."),
    "invoice_required": _l("Attach the invoice (PDF, JPEG or PNG)."),
    "invoice_too_large": _l("The invoice file is too large (at most 5 MB)."),
    "invoice_type": _l("Upload the invoice as a PDF, JPEG or PNG file."),
    "cost_above_invoice": _l("The cost per person cannot exceed the invoice's total."),
    "approved_above_proposed": _l("The approved cost cannot exceed the cost the enterprise proposed."),
    "invoice_superseded": _l("A newer invoice was uploaded for this course; review that one."),
    # activities
    "activity_not_started": _l("This activity has not started yet."),
    "activity_ended": _l("This activity has ended."),
    "already_checked_in": _l("You have already checked in at this activity."),
    "wrong_activity_kind": _l("This activity takes another kind of check-in."),
    "poster_invalid": _l("This is not a valid activity poster code."),
    "photo_required": _l("Choose a photo."),
    "photo_too_large": _l("The photo is too large (at most %(max_mb)s MB)."),
    "photo_type": _l("Upload a JPEG, PNG or WebP photo."),
    # rights
    "enterprise_or_name": _l("Give the employer's credit code or its name."),
    "status_order": _l("A complaint moves forward only: received → handling → resolved."),
    "note_required": _l("Write a note."),
    "not_found": _l("Not found."),
    # forms
    "amount_format": _l("Enter an amount in yuan, e.g. 3500 or 3500.50."),
    "number_format": _l("Enter a whole number."),
    "out_of_range": _l("This number is out of range."),
    "date_order": _l("The end date is before the start date."),
    "choice_unknown": _l("Choose one of the options."),
    "code_format": _l("Use 2–40 letters, digits, - or _."),
}


class BenefitRefused(Refusal):
    """A refusal by a benefits domain function (``already_claimed``, ``not_eligible``, ...); a
    ``why`` parameter names a second code that explains the first."""

    messages = MESSAGES

    @property
    def message(self) -> str:
        why = self.params.get("why")
        return f"{self.text()} {self.text(why)}" if why else self.text()


def refusal_message(code: str, **params) -> str:
    """The message for a code in the current language; falls back to the shared field errors."""
    return BenefitRefused(code, **params).text()
