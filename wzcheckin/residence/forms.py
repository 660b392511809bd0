"""Residence room, forms (Flask-WTF for CSRF; the domain functions validate)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
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


class AppealForm(FlaskForm):
    reason = TextAreaField(_l("Why the decision is wrong (what happened, which days)"),
                           render_kw={"maxlength": "1000", "rows": "4"})
    photo = FileField(_l("A photo of a document (optional: JPEG or PNG, at most 5 MB)"),
                      render_kw={"accept": "image/jpeg,image/png"})


class AppealDecisionForm(FlaskForm):
    reason = TextAreaField(_l("Reason (the appellant is told it)"), render_kw={"maxlength": "500", "rows": "2"})
    accept = SubmitField(_l("Accept"))
    reject = SubmitField(_l("Reject"))


class FoundDepartureForm(FlaskForm):
    id_number = StringField(_l("ID number"), render_kw={"maxlength": "18", "autocomplete": "off"})
    departed_on = DateField(_l("Date the worker left Wenzhou"), validators=[Optional()])
    note = StringField(_l("How it was found"), render_kw={"maxlength": "200"})
