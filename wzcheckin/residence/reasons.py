"""Residence room: the stable reason codes of a worker's status, and their words in the reader's
language. Snapshots store the code and its parameters (which windows, which date); the words
are made when read, so the same snapshot reads in Chinese and English."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from wzcheckin.core.dates import shown
from wzcheckin.programme import Programme

CONFIRMED = "confirmed"
ON_TRACK = "on_track"
NOT_PLEDGED = "not_pledged"
WENZHOU_HUKOU = "wenzhou_hukou"
HUKOU_REVIEW = "hukou_review"
DEPARTED = "departed"
MISSING_EVIDENCE = "missing_evidence"
# Only in corrections: an official accepted the worker's (or their enterprise's) appeal.
APPEAL_ACCEPTED = "appeal_accepted"

# Checked in this order: a worker's status names the first rule they fail.
REASON_ORDER = (NOT_PLEDGED, WENZHOU_HUKOU, HUKOU_REVIEW, DEPARTED, MISSING_EVIDENCE)
RETAINED_REASONS = (CONFIRMED, ON_TRACK)
ALL_REASONS = (CONFIRMED, ON_TRACK, *REASON_ORDER)

REASON_LABELS = {
    CONFIRMED: _l("Confirmed: stayed in Wenzhou"),
    ON_TRACK: _l("On track so far"),
    NOT_PLEDGED: _l("No pledge to stay"),
    WENZHOU_HUKOU: _l("Wenzhou household registration"),
    HUKOU_REVIEW: _l("Household registration to be reviewed"),
    DEPARTED: _l("Recorded as having left Wenzhou"),
    MISSING_EVIDENCE: _l("No staff scan in a required period"),
    APPEAL_ACCEPTED: _l("Confirmed on appeal"),
}


def reason_label(code: str) -> str:
    label = REASON_LABELS.get(code)
    return str(label) if label is not None else code


def window_names(programme: Programme, mask: int, english: bool = False) -> list[str]:
    names = []
    for index, window in enumerate(programme.evidence_windows):
        if mask & (1 << index):
            names.append((window.name_en or window.name) if english else window.name)
    return names


def reason_text(programme: Programme, code: str, *, windows_missed: int = 0, departed_on: date | None = None,
                english: bool = False) -> str:
    """The reason in words, with its particulars (which periods, which date)."""
    if code == CONFIRMED:
        return _("Confirmed: pledged, household registration outside Wenzhou, a staff scan in every "
                 "period and no recorded departure.")
    if code == ON_TRACK:
        return _("On track: a staff scan in every period so far.")
    if code == NOT_PLEDGED:
        return _("Not confirmed: the worker did not pledge to stay before the cutoff.")
    if code == WENZHOU_HUKOU:
        return _("Not counted: household registration in Wenzhou (the programme is for workers from "
                 "elsewhere).")
    if code == HUKOU_REVIEW:
        return _("Not counted yet: the declared household registration and the ID number disagree; an "
                 "official will review it.")
    if code == DEPARTED:
        when = shown(departed_on) if departed_on else "?"
        return _("Not confirmed: recorded as having left Wenzhou on %(date)s.", date=when)
    if code == APPEAL_ACCEPTED:
        return _("Confirmed on appeal: an official accepted the appeal and a correction counts you as "
                 "having stayed.")
    if code == MISSING_EVIDENCE:
        names = "、".join(window_names(programme, windows_missed, english)) if not english else ", ".join(
            window_names(programme, windows_missed, english))
        return _("Not confirmed: no staff scan in %(windows)s.", windows=names or "?")
    return code
