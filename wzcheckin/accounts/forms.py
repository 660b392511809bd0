"""Accounts room, forms. Flask-WTF brings CSRF; the domain functions do the validating, and
the views attach their field errors to these fields."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, PasswordField, StringField
from wtforms.validators import Optional


class LoginForm(FlaskForm):
    phone = StringField(_l("Mobile number"), render_kw={"inputmode": "tel", "autocomplete": "username"})
    password = PasswordField(_l("Password"), render_kw={"autocomplete": "current-password"})


class RegistrationPhoneForm(FlaskForm):
    """Self-registration, step 1: the phone number; a code goes to it by SMS."""

    phone = StringField(_l("Mobile number"), render_kw={"inputmode": "tel", "autocomplete": "tel"})


class RegistrationForm(FlaskForm):
    """Step 2: the code from the SMS, the same phone number again, and the worker's details."""

    code = StringField(_l("Six-digit code from the SMS"), render_kw={
        "inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": "6", "pattern": "[0-9]*"})
    name = StringField(_l("Name (as on your ID card)"), render_kw={"autocomplete": "name"})
    id_number = StringField(_l("ID number (18 characters)"),
                            render_kw={"autocomplete": "off", "autocapitalize": "characters", "maxlength": "24"})
    phone = StringField(_l("Mobile number (the one the code was sent to)"),
                        render_kw={"inputmode": "tel", "autocomplete": "tel"})
    credit_code = StringField(_l("Employer's unified social credit code (optional)"),
                              render_kw={"autocapitalize": "characters", "maxlength": "24"})
    hukou = StringField(_l("Household registration (leave blank to derive it from your ID number)"))
    residence_permit_no = StringField(_l("Zhejiang residence permit number (optional)"))
    residence_permit_expiry = DateField(_l("Residence permit valid until (optional)"), validators=[Optional()])
    pledge = BooleanField(_l("I pledge to stay in Wenzhou over the Spring Festival (留温过年)"), default=True)
    password = PasswordField(_l("Choose a password (at least 8 characters)"),
                             render_kw={"autocomplete": "new-password"})
    password_confirm = PasswordField(_l("Repeat the password"),
                             render_kw={"autocomplete": "new-password"})


class ActivationForm(FlaskForm):
    """Step 1: the numbers the employer listed; the code goes by SMS to that phone."""

    id_number = StringField(_l("ID number (18 characters)"),
                            render_kw={"autocomplete": "off", "autocapitalize": "characters", "maxlength": "24"})
    phone = StringField(_l("Mobile number your employer listed"), render_kw={"inputmode": "tel"})


_CODE_FIELD_KW = {"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": "6", "pattern": "[0-9]*"}


class ActivationCodeForm(FlaskForm):
    """Step 2: the code from the SMS and a password."""

    code = StringField(_l("Six-digit code from the SMS"), render_kw=_CODE_FIELD_KW)
    pledge = BooleanField(_l("I pledge to stay in Wenzhou over the Spring Festival (留温过年)"), default=True)
    password = PasswordField(_l("Choose a password (at least 8 characters)"),
                             render_kw={"autocomplete": "new-password"})
    password_confirm = PasswordField(_l("Repeat the password"),
                             render_kw={"autocomplete": "new-password"})


class ResetRequestForm(FlaskForm):
    phone = StringField(_l("Mobile number"), render_kw={"inputmode": "tel", "autocomplete": "username"})


class ResetForm(FlaskForm):
    code = StringField(_l("Six-digit code from the SMS"), render_kw=_CODE_FIELD_KW)
    password = PasswordField(_l("New password (at least 8 characters)"), render_kw={"autocomplete": "new-password"})
    password_confirm = PasswordField(_l("Repeat the password"), render_kw={"autocomplete": "new-password"})


class LogoutForm(FlaskForm):
    """Only the CSRF token: logging out is a POST."""


class PhoneChangeForm(FlaskForm):
    """A change of phone number, step 1: the new number; codes go to the old and the new."""

    new_phone = StringField(_l("New mobile number"), render_kw={"inputmode": "tel", "autocomplete": "off"})


class PhoneConfirmForm(FlaskForm):
    new_phone = StringField(_l("New mobile number (again)"), render_kw={"inputmode": "tel", "autocomplete": "off"})
    old_code = StringField(_l("Code sent to your current number"), render_kw=_CODE_FIELD_KW)
    new_code = StringField(_l("Code sent to the new number"), render_kw=_CODE_FIELD_KW)
