"""Codes room: the refusals of signed codes and passes, and what they say (the scanner says the
same words through the scan's reasons, ``scanning/messages.py``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wzcheckin.core.refusals import Refusal

INVALID_TOKEN = _l("Invalid code: it is forged, damaged or not one of ours.")

MESSAGES = {
    "invalid_token": INVALID_TOKEN,
    "unknown_key": INVALID_TOKEN,  # as good as a forgery to the person holding it
    "expired": _l("This code has expired: ask for a fresh one."),
    "revoked": _l("This pass has been revoked."),
    "revoked_key": _l("This code was signed with a withdrawn key: it is no longer valid. Ask for a fresh one."),
    "wrong_kind": _l("This kind of code is not accepted here."),
    # signing keys
    "key_unknown": _l("No signing key has this id."),
    "already_revoked": _l("This signing key is revoked already."),
}


class CodesRefusal(Refusal):
    """A refusal by a codes domain function (codes and words above)."""

    messages = MESSAGES
