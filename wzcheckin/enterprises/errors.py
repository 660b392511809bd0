"""Enterprises room: the refusals of the gate's forms and what they say, on top of the shared
field errors (``core.i18n.FIELD_ERRORS``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wzcheckin.core.refusals import Refusal

MESSAGES = {
    "temperature_format": _l("Enter the temperature as a number, e.g. 36.5."),
    "temperature_range": _l("A body temperature is between 30 and 45 °C."),
    "temperature_precision": _l("Enter the temperature as the thermometer shows it, with at most two decimals."),
}


class EnterpriseError(Refusal):
    """A refusal by an enterprises domain function (a visitor's details at the gate)."""

    messages = MESSAGES
