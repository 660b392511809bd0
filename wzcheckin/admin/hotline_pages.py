"""Admin room, pages: the hotline case log — record a call (经信局), list the latest cases and find
cases by a phone number (full or masked) or a credit code (经信局 and the auditor). The number
searched for travels in a POST body, never in a URL; every record and every search is audited."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField

from wzcheckin import clock
from wzcheckin.admin import hotline
from wzcheckin.admin.hotline import HOTLINE_READERS, HOTLINE_RECORDERS, CallDetails, HotlineRefused
from wzcheckin.admin.models import HotlineOutcome, HotlineTopic
from wzcheckin.admin.views import bp
from wzcheckin.core import context
from wzcheckin.core.audit import record_audit
from wzcheckin.core.auth import roles_required
from wzcheckin.db import unit_of_work
from wzcheckin.extensions import db

TOPIC_LABELS = {
    HotlineTopic.SUBSIDY: _l("Subsidies and rewards (P7, P8)"),
    HotlineTopic.TRAINING: _l("Training (P6)"),
    HotlineTopic.WAGES: _l("Wage arrears"),
    HotlineTopic.HEALTH: _l("Health and entry checks"),
    HotlineTopic.VENUES: _l("Venues, bookings and activities"),
    HotlineTopic.ACCOUNT: _l("Registration, pass and log-in"),
    HotlineTopic.POINTS: _l("Points and residence permits"),
    HotlineTopic.OTHER: _l("Other"),
}
OUTCOME_LABELS = {
    HotlineOutcome.ANSWERED: _l("Answered on the call"),
    HotlineOutcome.REFERRED: _l("Referred to the bureau concerned"),
    HotlineOutcome.FOLLOW_UP: _l("Call back owed"),
    HotlineOutcome.COMPLAINT: _l("Taken down as a complaint"),
}


class CallForm(FlaskForm):
    caller_phone = StringField(_l("Caller's mobile number (optional)"),
                               render_kw={"inputmode": "tel", "autocomplete": "off"})
    credit_code = StringField(_l("Enterprise credit code (optional)"),
                              render_kw={"autocapitalize": "characters", "maxlength": "24", "autocomplete": "off"})
    topic = SelectField(_l("Topic"), choices=[])
    outcome = SelectField(_l("Outcome"), choices=[])
    note = TextAreaField(_l("What was asked and answered"), render_kw={"maxlength": str(hotline.NOTE_MAX), "rows": 3})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.topic.choices = [("", _("Choose…"))] + [(code.value, str(text)) for code, text in TOPIC_LABELS.items()]
        self.outcome.choices = [("", _("Choose…"))] + [(code.value, str(text))
                                                       for code, text in OUTCOME_LABELS.items()]


class SearchForm(FlaskForm):
    query = StringField(_l("Mobile number or credit code"), render_kw={"autocomplete": "off", "maxlength": "24"})


def _page(call_form: CallForm, search_form: SearchForm, found=None, status: int = 200):
    # Numbers typed are never written back into the page: the form asks for them again.
    for field in (call_form.caller_phone, search_form.query):
        field.data, field.raw_data = "", []
    return render_template("admin/hotline.html", call_form=call_form, search_form=search_form,
                           cases=hotline.recent_cases(db.session), found=found,
                           may_record=current_user.role in HOTLINE_RECORDERS,
                           hotline_number=context.programme().programme.hotline), status


@bp.get("/admin/hotline", endpoint="hotline")
@roles_required(*HOTLINE_READERS)
def hotline_page():
    return _page(CallForm(), SearchForm())


@bp.post("/admin/hotline", endpoint="hotline_record")
@roles_required(*HOTLINE_RECORDERS)
def hotline_record():
    form = CallForm()
    # The fields are checked by the domain function; only a bad CSRF token stops here.
    if not form.validate_on_submit() and form.csrf_token.errors:
        abort(400)
    details = CallDetails(topic=form.topic.data, outcome=form.outcome.data, note=form.note.data,
                          caller_phone=form.caller_phone.data, credit_code=form.credit_code.data)
    try:
        with unit_of_work(db.session):
            case = hotline.record_case(db.session, context.vault(), details, actor=current_user, now=clock.now(),
                                       ip=request.remote_addr)
    except HotlineRefused as refusal:
        getattr(form, refusal.field).errors = [refusal.message]
        return _page(form, SearchForm(), status=422)
    flash(_("Call recorded as case %(id)s.", id=case.id), "success")
    return redirect(url_for("admin.hotline"))


@bp.post("/admin/hotline/search", endpoint="hotline_search")
@roles_required(*HOTLINE_READERS)
def hotline_search():
    form = SearchForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with unit_of_work(db.session):
            found = hotline.find_cases(db.session, context.vault(), form.query.data)
            # What was looked for is not written down (it may be a phone number), only how.
            record_audit(db.session, at=clock.now(), actor=current_user, action="hotline.search",
                         target_type="hotline_case", ip=request.remote_addr, details={"found": len(found)})
    except HotlineRefused as refusal:
        form.query.errors = [refusal.message]
        return _page(CallForm(), form, status=422)
    return _page(CallForm(), form, found=found)


@bp.app_template_global("admin_hotline_topic")
def _topic_label(code) -> str:
    return str(TOPIC_LABELS.get(HotlineTopic(code), code))


@bp.app_template_global("admin_hotline_outcome")
def _outcome_label(code) -> str:
    return str(OUTCOME_LABELS.get(HotlineOutcome(code), code))
