"""Residence room, forms (Flask-WTF for CSRF; the domain functions validate)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, StringField, SubmitField, TextAreaField
from wtforms.validators import Optional


class DepartureForm(FlaskForm):
    departed_on = DateField(_l("Date you left Wenzhou"), validators=[Optional()])
    note = StringField(_l("Note (optional)"), render_kw={"maxlength": "200"})


class ConfirmForm(FlaskForm):
    """A button that only needs CSRF protection (apply, withdraw)."""


class DecisionForm(FlaskForm):
    reason = TextAreaField(_l("Reason (required to reject)"), render_kw={"maxlength": "500", "rows": "2"})
    approve = SubmitField(_l("Approve"))
    reject = SubmitField(_l("Reject"))


class PaidForm(FlaskForm):
    reference = StringField(_l("Payment reference (optional)"), render_kw={"maxlength": "100"})


class ProductionForm(FlaskForm):
    """Labels name the years; the view sets them from the programme."""

    output_previous_year = StringField(render_kw={"inputmode": "decimal", "autocomplete": "off"})
    output_q3 = StringField(render_kw={"inputmode": "decimal", "autocomplete": "off"})
    output_q4 = StringField(render_kw={"inputmode": "decimal", "autocomplete": "off"})
    output_q1 = StringField(render_kw={"inputmode": "decimal", "autocomplete": "off"})
