"""Venues room, forms. Flask-WTF brings CSRF and renders the fields (with the phone's native
date, time and number pickers); the domain functions do the validating and the views attach
their errors to these fields."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from wzcheckin.venues.models import VenueKind

KIND_LABELS = {
    VenueKind.LIBRARY: _l("Library"),
    VenueKind.SPORTS: _l("Sports venue"),
    VenueKind.WORKERS_CENTRE: _l("Workers' centre"),
    VenueKind.CULTURE: _l("Museum or cultural centre"),
    VenueKind.SCENIC_SPOT: _l("Scenic spot"),
    VenueKind.LANDMARK: _l("Landmark (check-in point)"),
}
WEEKDAY_LABELS = [_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun")]


class ActionForm(FlaskForm):
    """Only the CSRF token: booking, cancelling, joining a waiting list are POSTs."""


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _text(label, kind: str = "text", **extra):
    return StringField(label, render_kw={"type": kind, **extra})


class VenueForm(FlaskForm):
    code = _text(_l("Code (letters, digits, - or _)"), autocapitalize="none", maxlength="40")
    name = _text(_l("Venue name"), maxlength="200")
    kind = SelectField(_l("Kind of venue"),
                       choices=[SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()])
    district = _text(_l("District"), maxlength="50")
    address = _text(_l("Address"), maxlength="300")


class HoursForm(FlaskForm):
    weekdays = MultiCheckboxField(_l("Open on"), choices=[SelectChoice(str(day), label)
                                                          for day, label in enumerate(WEEKDAY_LABELS)],
                                  default=[str(day) for day in range(7)])
    opens = _text(_l("Opens"), "time")
    closes = _text(_l("Closes"), "time")
    slot_minutes = _text(_l("Minutes per slot"), "number", min="5", max="480", inputmode="numeric")
    capacity = _text(_l("Places per slot"), "number", min="1", inputmode="numeric")


class GenerateForm(FlaskForm):
    first = _text(_l("From"), "date")
    last = _text(_l("Until"), "date")


class DaySlotsForm(FlaskForm):
    day = _text(_l("Date"), "date")
    start = _text(_l("First slot starts"), "time")
    end = _text(_l("Last slot ends"), "time")
    length = _text(_l("Minutes per slot"), "number", min="5", max="480", inputmode="numeric")
    capacity = _text(_l("Places per slot"), "number", min="1", inputmode="numeric")


class CapacityForm(FlaskForm):
    capacity = _text(_l("Places"), "number", min="1", inputmode="numeric")


class CloseSlotForm(FlaskForm):
    notice = _text(_l("Notice to the people who booked (optional)"), maxlength="300")
