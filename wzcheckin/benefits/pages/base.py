"""Benefits room, pages: the blueprint and what every page module shares (field errors,
refusals, CSV downloads, audit, template filters)."""

from __future__ import annotations

from flask import Blueprint, Response, flash, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from wzcheckin import clock
from wzcheckin.benefits.errors import BenefitRefused, refusal_message
from wzcheckin.benefits.money import display_yuan
from wzcheckin.core import context
from wzcheckin.core.audit import record_audit
from wzcheckin.core.csv_import import CsvFormatError, read_text
from wzcheckin.core.forms import show_refusal
from wzcheckin.core.refusals import Refusal
from wzcheckin.extensions import db

bp = Blueprint("benefits", __name__)


def attach_errors(form, errors: dict[str, str]) -> None:
    """Each error next to its field; errors of unknown fields go to the top of the form."""
    show_refusal(form, BenefitRefused.fields(errors))


def refusal_text(refusal: Refusal) -> str:
    return refusal.message


def flash_refusal(refusal: Refusal) -> None:
    flash(refusal.message, "error")


def audit(action: str, *, target_type: str | None = None, target_id=None, details: dict | None = None,
          now=None) -> None:
    """An official's or staff member's action, in the caller's unit of work."""
    record_audit(context_session(), at=now or clock.now(), actor=current_user._get_current_object(),
                 action=action, target_type=target_type, target_id=target_id, details=details,
                 ip=request.remote_addr)


def context_session():
    return db.session


def csv_download(text: str, filename: str) -> Response:
    response = Response(text.encode("utf-8"), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def uploaded_text(form_field) -> str:
    """The uploaded CSV as text (raises CsvFormatError for a file that is not UTF-8)."""
    storage = form_field.data
    if storage is None or not getattr(storage, "filename", ""):
        raise CsvFormatError("no_file")
    return read_text(storage.read())


def local_now_date():
    return context.programme().local_date(clock.now())


@bp.app_template_filter("yuan")
def _yuan_filter(fen) -> str:
    return display_yuan(int(fen or 0))


@bp.app_template_filter("carrier_name")
def _carrier_name(code: str | None) -> str:
    if not code:
        return ""
    carrier = context.programme().data_bonus.carriers.get(code)
    if carrier is None:
        return code
    english = get_locale() is not None and get_locale().language == "en"
    return (carrier.name_en or carrier.name) if english else carrier.name


DATA_BONUS_STATUS_LABELS = {
    "not_claimed": _l("Not claimed"),
    "pending": _l("With your carrier"),
    "fulfilled": _l("Delivered"),
    "failed": _l("Not delivered"),
    "not_eligible": _l("Not eligible"),
}


@bp.app_template_global("benefit_status")
def _benefit_status(status: str | None) -> str:
    label = DATA_BONUS_STATUS_LABELS.get(status or "")
    return str(label) if label is not None else (status or "")


@bp.app_template_global("benefit_message")
def _benefit_message(code: str, **params) -> str:
    return refusal_message(code, **params)
