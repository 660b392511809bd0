"""Residence room: the domain error and its stable codes, in the reader's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wzcheckin.core.refusals import Refusal
from wzcheckin.core.retention import RetentionRefused

MESSAGES = {
    "cutoff_passed": _l("The cutoff has passed: this can no longer be changed."),
    "departure_in_future": _l("Record a departure once it has happened: the date cannot be in the future."),
    "departure_before_programme": _l("The date is before the programme began."),
    "already_departed": _l("A departure is already recorded for this worker."),
    "no_departure": _l("No departure is recorded."),
    "not_your_record": _l("Your enterprise did not record this departure, so it cannot withdraw it: the worker's record stays."),
    "not_on_roster": _l("This worker is not on your enterprise's confirmed roster."),
    "no_snapshot": _l("There is no snapshot yet: the cutoff has not run."),
    "not_qualified": _l("Your enterprise does not qualify for the retention subsidy in the snapshot."),
    "already_applied": _l("Your enterprise has already applied."),
    "already_decided": _l("This has already been decided."),
    "not_approved": _l("Only an approved application can be marked as paid."),
    "reason_required": _l("Give a reason for the rejection."),
    "reason_too_long": _l("The reason is too long (500 characters at most)."),
    "not_open_yet": _l("Declarations open on %(date)s, once the first quarter's output is known."),
    "excluded_ownership": _l("State-owned and state-controlled enterprises are excluded from the production reward."),
    "not_industrial": _l("Only industrial enterprises can receive the production reward."),
    "invalid_amount": _l("Enter an amount in yuan, 0 or more, with at most two decimals."),
    "not_eligible": _l("The declared figures do not meet the rule, so it cannot be approved."),
    "note_too_long": _l("The note is too long (200 characters at most)."),
    "date_required": _l("Enter the date."),
    "appeal_window_closed": _l("Appeals are not open: they open once the cutoff's decision is published and "
                               "close %(days)s days after the cutoff."),
    "nothing_to_appeal": _l("There is nothing to appeal: the decision already counts you (or an accepted "
                            "appeal waits for the next correction)."),
    "already_open": _l("An appeal is already open; you will be told the decision."),
    "appeal_reason_required": _l("Say why you appeal."),
    "appeal_reason_too_long": _l("The reason is too long (1,000 characters at most)."),
    "photo_too_large": _l("The photo is too large (%(size)s MB at most)."),
    "photo_type": _l("The photo must be a JPEG or PNG image."),
    "appeal_workers_required": _l("Choose the workers who should count."),
    "appeal_workers_too_many": _l("Too many workers in one appeal (500 at most)."),
    "decision_reason_required": _l("Give a reason for the decision."),
    "hukou_decided_home": _l("The household registration was decided as Wenzhou; this appeal cannot be accepted."),
    "not_after_cutoff": _l("A departure found later is recorded after the cutoff."),
    "departure_after_cutoff": _l("The departure must be on or before the cutoff day."),
    "note_required": _l("Say how the departure was found."),
    "worker_not_found": _l("No worker with this ID number."),
    # the cutoff run and the purge (said by the command line)
    "as_of_in_future": _l("cannot confirm residence as of %(as_of)s: it is only %(now)s (evidence may still "
                          "come in)"),
    "not_the_cutoff": _l("an official snapshot is as of the programme's cutoff"),
    "programme_changed": _l("snapshot %(snapshot)s was begun under other rules (the programme file changed); "
                            "resuming would mix them"),
    "no_official_snapshot": _l("the official snapshot is not complete: the cutoff still needs the raw evidence"),
}


class ResidenceError(Refusal):
    """A refusal by a residence domain function (codes and words below)."""

    messages = MESSAGES


class PurgeRefused(RetentionRefused):
    """``Room(purge_guard=...)``'s refusal: residence still needs the raw records."""

    messages = MESSAGES


def error_message(code: str, **params) -> str:
    return ResidenceError(code, **params).message
