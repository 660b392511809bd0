"""Enterprises and gates room, forms. Flask-WTF brings CSRF; the domain functions validate."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField


class VisitorForm(FlaskForm):
    name = StringField(_l("Visitor's name (as on the ID card)"), render_kw={"autocomplete": "off"})
    id_number = StringField(_l("ID number (18 characters)"),
                            render_kw={"autocomplete": "off", "autocapitalize": "characters", "maxlength": "24"})
    phone = StringField(_l("Mobile number"), render_kw={"inputmode": "tel", "autocomplete": "off"})
    reason = StringField(_l("Reason for the visit"), render_kw={"maxlength": "200"})
    # "yes" or "no", from two radio buttons in the template (no default: the gatekeeper looks).
    mask = StringField(_l("Mask"))
    temperature = StringField(_l("Temperature (°C)"), render_kw={"inputmode": "decimal", "maxlength": "5"})
    symptoms = BooleanField(_l("Cough, fever or other symptoms"))


class ActionForm(FlaskForm):
    """Only the CSRF token: roster and alert actions are POSTs."""
