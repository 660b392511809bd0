"""Accounts room: the refusals of accounts, log-in and one-time codes, and what they say. Form
fields' codes (``phone_format``, ``password_too_short`` ...) are the shared field errors of
``core.i18n``; a refusal of several fields at once is ``Refusal.fields({...})``."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l

from wzcheckin.core.refusals import Refusal

MESSAGES = {
    "code_invalid": _l("The code is wrong, has expired or was used up. Ask for a new code."),
    "code_rate_limited": _l("Too many codes were asked for. Wait a few minutes, then try again."),
    "phone_unchanged": _l("That is the number the account has now."),
    "phone_not_verified": _l("This is not the number the code was sent to. Type that number, or ask for a "
                             "code for this one."),
    # hukou reviews (户籍复核)
    "decision_invalid": _l("Decide Wenzhou or not Wenzhou."),
    "reason_required": _l("Give a reason for the decision."),
    "reason_too_long": _l("The reason is too long (500 characters at most)."),
    "not_under_review": _l("This worker's household registration is not awaiting review."),
}


class AccountError(Refusal):
    """A refused account action (``already_disabled``, ``not_disabled``, ``token_unknown`` ...)."""

    messages = MESSAGES


class CodeRefused(AccountError):
    """``code_rate_limited`` (too many codes asked for) or ``code_invalid`` (wrong, expired,
    spent or never sent: one answer for all)."""


class LoginRefused(AccountError):
    """``invalid_credentials``, ``disabled``, ``not_activated`` or ``slow_down`` (with the wait)."""

    def __init__(self, code: str, *, retry_after: timedelta | None = None):
        super().__init__(code, status=429 if code == "slow_down" else 401)
        self.retry_after = retry_after

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds to wait, rounded up (at least one when there is a wait)."""
        if not self.retry_after:
            return 0
        return max(1, -int(-self.retry_after.total_seconds() // 1))
