"""Languages: Chinese (zh_CN) first, English second. The choice comes from the language switch
(a cookie), then the account's saved language, then Accept-Language, then zh_CN. An error page
never loads the account for its language (see ``core.errors.stop_using_database``)."""

from __future__ import annotations

from functools import lru_cache

from babel import Locale
from flask import current_app, g, has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

SUPPORTED_LOCALES = ("zh_CN", "en")
LANGUAGE_COOKIE = "wzc_lang"


def normalise_locale(value: str | None) -> str | None:
    if not value:
        return None
    value = value.replace("-", "_")
    if value.lower().startswith("zh"):
        return "zh_CN"
    if value.lower().startswith("en"):
        return "en"
    return None


# Babel knows Simplified Chinese as zh_Hans_CN; the catalogs live under "zh", which gettext
# finds for any Chinese locale.
LOCALES = {"zh_CN": Locale.parse("zh_Hans_CN"), "en": Locale.parse("en")}


def select_locale() -> Locale:
    return LOCALES[selected_language()]


def selected_language() -> str:
    if not has_request_context():
        return normalise_locale(current_app.config["BABEL_DEFAULT_LOCALE"]) or "zh_CN"
    this_request, request_globals = request._get_current_object(), g._get_current_object()
    chosen = normalise_locale(this_request.cookies.get(LANGUAGE_COOKIE))
    if chosen:
        return chosen
    if request_globals.get("database_off"):
        # The error path (core.errors.stop_using_database): never load the user to choose a
        # language — with the database down that load fails again inside the error handler.
        saved = normalise_locale(request_globals.get("saved_language"))
        if saved:
            return saved
    else:
        user = current_user._get_current_object() if current_user else None
        if user is not None and getattr(user, "is_authenticated", False):
            saved = normalise_locale(getattr(user, "language", None))
            if saved:
                return saved
    return language_for_header(this_request.headers.get("Accept-Language", ""))


@lru_cache(maxsize=256)
def language_for_header(accept_language: str) -> str:
    """The language an ``Accept-Language`` header asks for. Parsed once per distinct header in a
    process: a city's phones send a handful of them, and parsing cost every API answer its share."""
    best = parse_accept_header(accept_language, LanguageAccept).best_match(["zh-CN", "zh", "en"], default="zh-CN")
    return normalise_locale(best) or "zh_CN"


# Stable error codes from validators and domain functions, in the reader's language.
FIELD_ERRORS = {
    "required": _l("This field is required."),
    "too_long": _l("This is too long."),
    "id_15_digit": _l("15-digit ID numbers are no longer accepted; enter the 18-digit number."),
    "id_length": _l("An ID number has 18 characters."),
    "id_format": _l("An ID number is 17 digits followed by a digit or X."),
    "id_birth_date": _l("The date of birth in this ID number is impossible."),
    "id_check": _l("The last character of this ID number does not match; please check it."),
    "digits_not_ascii": _l("Type the number with the digits 0–9; digits of other scripts are not accepted."),
    "age_out_of_range": _l(
        "The programme is for people of working age: %(min_age)s to %(max_age)s years old on %(starts)s, "
        "by the date of birth in the ID number."
    ),
    "phone_format": _l("Enter an 11-digit mainland mobile number, e.g. 13812345678."),
    "phone_taken": _l("This phone number belongs to another account."),
    "credit_length": _l("A unified social credit code has 18 characters."),
    "credit_format": _l("This is not a valid unified social credit code."),
    "credit_check": _l("The last character of this credit code does not match; please check it."),
    "enterprise_unknown": _l("This enterprise is not registered with the programme; ask your employer."),
    "permit_format": _l("Enter the residence permit number as printed (letters and digits)."),
    "permit_missing": _l("Enter the residence permit number as well as its expiry date."),
    "password_too_short": _l("Use at least 8 characters."),
    "password_too_long": _l("Use at most 128 characters."),
    "password_contains_phone": _l("The password must not contain your phone number."),
    "password_mismatch": _l("The two passwords differ."),
    "date_format": _l("Enter a date as YYYY-MM-DD."),
    "pledge_required": _l("Registering means pledging to stay in Wenzhou over the festival."),
    "already_registered": _l(
        "This ID number or phone number cannot be registered again. If you already have an "
        "account, log in; if your employer listed you, activate your account instead."
    ),
    "activation_mismatch": _l(
        "We could not activate an account with these details. Check the ID and phone number "
        "your employer listed, or call the hotline."
    ),
    "invalid_credentials": _l("Wrong phone number or password."),
    "locked": _l("Too many failed attempts. Try again in 15 minutes."),
    "not_activated": _l("This account was created by your employer: activate it first."),
    "disabled": _l("This account is disabled."),
    "checkpoint_unknown": _l("No such checkpoint."),
    "checkpoint_wrong_kind": _l("This role needs another kind of checkpoint."),
    "too_long_input": _l("This is too long."),
}


def catalogue_message(catalogue: dict, code: str, params: dict | None = None) -> str:
    """A room's message for a stable ``code`` in the reader's language, its placeholders filled
    from ``params`` (extra ones are ignored); the code itself when the catalogue has none."""
    message = catalogue.get(code)
    if message is None:
        return code
    text = str(message)
    return text % params if params and "%(" in text else text


def field_error(code: str, **params) -> str:
    """The message of ``code``; ``params`` fill its placeholders (extra ones are ignored)."""
    return catalogue_message(FIELD_ERRORS, code, params)
