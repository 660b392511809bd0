"""One refusal type (issue 13 item 4): the refusals that had shapes of their own are
``core.refusals.Refusal`` values — a stable code, the field, the HTTP status, the params — whose
words come from their room's table, in English for the command line and in Chinese on a page."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask_babel import force_locale

from wzcheckin.accounts.facts import HukouReviewError
from wzcheckin.admin.exports import REASON_MIN_CHARS, ExportUnavailable, ReasonRefused, clean_reason
from wzcheckin.admin.figures import InstantRefused
from wzcheckin.admin.hotline import HotlineRefused
from wzcheckin.codes.keys import SigningKeyError
from wzcheckin.codes.tokens import TokenError
from wzcheckin.core.refusals import Refusal
from wzcheckin.core.retention import RetentionRefused
from wzcheckin.residence.cutoff import CutoffError
from wzcheckin.residence.errors import PurgeRefused
from wzcheckin.scanning.services import ScanInputError, validate_scan_id


@pytest.mark.parametrize("kind", [CutoffError, TokenError, HukouReviewError, ScanInputError, RetentionRefused,
                                  PurgeRefused, ReasonRefused, InstantRefused, HotlineRefused, ExportUnavailable,
                                  SigningKeyError])
def test_every_refusal_is_one_type(kind):
    assert issubclass(kind, Refusal)


def test_the_command_line_says_what_it_said_before(app):
    """The CLI prints ``english()``: the very sentences the old exceptions carried."""
    with app.test_request_context():
        as_of, now = datetime(2021, 3, 1).isoformat(), datetime(2021, 2, 28).isoformat()
        assert CutoffError("as_of_in_future", as_of=as_of, now=now).english() == (
            "cannot confirm residence as of 2021-03-01T00:00:00: it is only 2021-02-28T00:00:00 "
            "(evidence may still come in)")
        assert CutoffError("programme_changed", snapshot=7).english() == (
            "snapshot 7 was begun under other rules (the programme file changed); resuming would mix them")
        assert RetentionRefused("appeal_window_open", until=as_of).english() == (
            "the appeal window is open until 2021-03-01T00:00:00; nothing may be purged before")
        assert PurgeRefused("no_official_snapshot").english() == (
            "the official snapshot is not complete: the cutoff still needs the raw evidence")
        with force_locale("zh_CN"):
            assert "申诉期" in RetentionRefused("appeal_window_open", until=as_of).message


def test_codes_fields_and_statuses(app):
    with pytest.raises(TokenError) as token:
        raise TokenError("expired")
    assert (token.value.code, token.value.reason, token.value.status) == ("expired", "expired", 422)
    with pytest.raises(ScanInputError) as scan_id:
        validate_scan_id("short")
    assert (scan_id.value.code, scan_id.value.field, scan_id.value.status) == ("invalid_scan_id", "scan_id", 422)
    assert HukouReviewError("not_under_review").status == 409
    assert HukouReviewError("reason_required").status == 422
    assert ExportUnavailable("no_snapshot").status == 409
    with pytest.raises(ReasonRefused) as reason:
        clean_reason("why")
    assert (reason.value.code, reason.value.field, reason.value.status) == ("reason_too_short", "reason", 422)
    with app.test_request_context(), force_locale("en"):
        assert reason.value.message == f"Say a little more: at least {REASON_MIN_CHARS} characters."
        assert TokenError("unknown_key").message == TokenError("invalid_token").message
        # A hotline field's format code falls back to the shared field errors, never the bare code.
        assert HotlineRefused("phone_format", "caller_phone").message != "phone_format"
