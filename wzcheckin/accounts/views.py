"""Accounts room, pages: log in, log out, register, activate, and the worker's home."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, g, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup

from wzcheckin import clock
from wzcheckin.accounts.codes import SMS_KIND, CodeRefused
from wzcheckin.accounts.credentials import change_phone, request_password_reset, request_phone_change, reset_password
from wzcheckin.accounts.errors import LoginRefused
from wzcheckin.accounts.forms import (
    ActivationCodeForm,
    ActivationForm,
    LoginForm,
    LogoutForm,
    PhoneChangeForm,
    PhoneConfirmForm,
    RegistrationForm,
    RegistrationPhoneForm,
    ResetForm,
    ResetRequestForm,
)
from wzcheckin.accounts.sessions import authenticate, end_session, start_session
from wzcheckin.accounts.workers import (
    WorkerDetails,
    activate_worker,
    register_worker,
    request_activation_code,
    request_registration_code,
)
from wzcheckin.core import context
from wzcheckin.core.audit import record_audit
from wzcheckin.core.auth import current_worker, public, roles_required
from wzcheckin.core.dates import shown
from wzcheckin.core.forms import show_expired, show_refusal
from wzcheckin.core.home import home_panels
from wzcheckin.core.models import SmsMessage
from wzcheckin.core.navigation import NavItem, role_home_url, safe_next_url
from wzcheckin.core.refusals import Refusal
from wzcheckin.core.roles import Role
from wzcheckin.db import is_unique_violation, unit_of_work
from wzcheckin.extensions import db, limiter

bp = Blueprint("accounts", __name__)

NAV_ITEMS = [
    NavItem((Role.WORKER,), "accounts.home", _l("Home")),
    NavItem((Role.WORKER,), "codes.pass_page", _l("My pass")),
    NavItem((Role.OFFICIAL,), "accounts.desk_find", _l("Accounts")),
]


def _error_params() -> dict:
    """What the messages may name: the programme's working-age bounds (``age_out_of_range``)."""
    section = context.programme().programme
    return {"min_age": section.min_working_age, "max_age": section.max_working_age,
            "starts": shown(section.starts)}


def _show(form, refusal: Refusal) -> None:
    show_refusal(form, refusal, **_error_params())


def _anonymous_form_page(template: str, form, **context):
    """An anonymous page with identifiers on it (log in, register, activate): the ID and phone
    numbers typed are never written back into the HTML — the form asks for them again, and the
    one-time code too — and the answer is never cached (``Cache-Control: no-store``, core.security)."""
    g.personal_data = True
    for name in ("id_number", "phone", "new_phone", "code"):
        field = getattr(form, name, None)
        if field is not None:
            field.data = ""
            field.raw_data = []
    return render_template(template, form=form, **context)


def _log_in(user) -> None:
    """A fresh session: the old cookie's contents are dropped and a new server row is made."""
    session.clear()
    now = clock.now()
    with unit_of_work(db.session):
        secret = start_session(db.session, user, now)
        if user.role.is_staff:
            record_audit(db.session, at=now, actor=user, action="login", ip=request.remote_addr)
    user.login_session_id = secret
    login_user(user)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute; 60 per hour", methods=["POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(role_home_url(current_user.role))
    form = LoginForm()
    if form.validate_on_submit():
        now = clock.now()
        refused = None
        with unit_of_work(db.session):
            try:
                user = authenticate(db.session, context.vault(), form.phone.data, form.password.data, now,
                                    address=request.remote_addr, programme=context.programme())
            except LoginRefused as exc:
                refused = exc  # committed anyway: the failure counts must persist
        if refused is None:
            next_url = safe_next_url(session.get("next"))
            _log_in(user)
            return redirect(next_url or role_home_url(user.role))
        if refused.code == "slow_down":
            seconds = refused.retry_after_seconds
            form.form_errors.append(_("Too many failed attempts. Wait %(seconds)s seconds, then try again.",
                                      seconds=seconds))
            response = make_response(_anonymous_form_page("accounts/login.html", form))
            response.headers["Retry-After"] = str(seconds)
            return response
        form.form_errors.append(refused.message)
    return _anonymous_form_page("accounts/login.html", form)


@bp.post("/logout")
@public
def logout():
    form = LogoutForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        with unit_of_work(db.session):
            end_session(db.session, current_user.get_id())
            if current_user.role.is_staff:
                record_audit(db.session, at=clock.now(), actor=current_user, action="logout")
        logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("5 per minute; 30 per hour", methods=["POST"])
@public
def register():
    """Self-registration, step 1: the phone number, proven by a code sent to it by SMS."""
    if current_user.is_authenticated:
        return redirect(role_home_url(current_user.role))
    form = RegistrationPhoneForm()
    if form.validate_on_submit():
        try:
            with unit_of_work(db.session):
                row = request_registration_code(db.session, context.vault(), context.programme(), form.phone.data,
                                                clock.now(), address=request.remote_addr)
            _remember_code("register", row)
            return redirect(url_for("accounts.register_details"))
        except Refusal as exc:
            _show(form, exc)
    else:
        show_expired(form)
    return _anonymous_form_page("accounts/register_phone.html", form)


@bp.route("/register/details", methods=["GET", "POST"])
@limiter.limit("10 per minute; 60 per hour", methods=["POST"])
@public
def register_details():
    """Step 2: the code, the same phone number again, the worker's details, a password and the
    pledge. The account is made only with the right code."""
    if current_user.is_authenticated:
        return redirect(role_home_url(current_user.role))
    code_id = _pending_code("register")
    if code_id is None:
        return redirect(url_for("accounts.register"))
    form = RegistrationForm()
    if request.method == "POST" and form.validate_on_submit():
        errors: dict[str, str] = {}
        if form.password.data != form.password_confirm.data:
            errors["password_confirm"] = "password_mismatch"  # noqa: S105 - an error code
        if not form.pledge.data:
            errors["pledge"] = "pledge_required"
        details = WorkerDetails(
            name=form.name.data or "", id_number=form.id_number.data or "", phone=form.phone.data or "",
            credit_code=form.credit_code.data or "", hukou=form.hukou.data or "",
            residence_permit_no=form.residence_permit_no.data or "",
            residence_permit_expiry=form.residence_permit_expiry.data, pledged=bool(form.pledge.data),
        )
        worker = None
        try:
            with unit_of_work(db.session):
                try:
                    worker = register_worker(db.session, context.vault(), context.programme(), details,
                                             form.password.data or "", clock.now(), form_errors=errors,
                                             code_id=code_id, code=form.code.data)
                except CodeRefused as exc:
                    _show(form, exc)  # committed: the guess counts
        except Refusal as exc:
            worker = None
            _show(form, exc)
        except sa.exc.IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            _show(form, Refusal("already_registered"))  # a concurrent twin won the race
        if worker is not None:
            session.pop(CODE_SESSION_KEY, None)
            _log_in(worker.user)
            flash(_("Welcome! This is your pass. Show it at factory gates, venues and pickup points."), "success")
            return redirect(url_for("codes.pass_page"))
    else:
        show_expired(form)
    return _anonymous_form_page("accounts/register.html", form,
                                minutes=context.programme().accounts.one_time_code_minutes)


# --- one-time codes: activation and password reset ------------------------------------------------
#
# Step 1 takes the numbers and, whether or not they match an account, writes a code row and moves
# on to step 2 with the row's id kept in the (signed) session cookie; only a matching account is
# sent the SMS. Step 2 takes the code. A wrong code's guess is committed before the answer.

CODE_SESSION_KEY = "one_time_code"

def _remember_code(purpose: str, row) -> None:
    session[CODE_SESSION_KEY] = {"purpose": purpose, "id": row.id}


def _pending_code(purpose: str) -> int | None:
    pending = session.get(CODE_SESSION_KEY)
    if isinstance(pending, dict) and pending.get("purpose") == purpose and isinstance(pending.get("id"), int):
        return pending["id"]
    return None


@bp.route("/activate", methods=["GET", "POST"])
@limiter.limit("5 per minute; 30 per hour", methods=["POST"])
@public
def activate():
    """Step 1 of activating a roster account: the ID and phone number the employer listed."""
    if current_user.is_authenticated:
        return redirect(role_home_url(current_user.role))
    form = ActivationForm()
    if form.validate_on_submit():
        try:
            with unit_of_work(db.session):
                row = request_activation_code(db.session, context.vault(), context.programme(), form.id_number.data,
                                              form.phone.data, clock.now(), address=request.remote_addr)
            _remember_code("activate", row)
            return redirect(url_for("accounts.activate_code"))
        except Refusal as exc:
            _show(form, exc)
    return _anonymous_form_page("accounts/activate.html", form)


@bp.route("/activate/code", methods=["GET", "POST"])
@limiter.limit("10 per minute; 60 per hour", methods=["POST"])
@public
def activate_code():
    """Step 2: the code sent to the listed phone, a password and the pledge."""
    if current_user.is_authenticated:
        return redirect(role_home_url(current_user.role))
    code_id = _pending_code("activate")
    if code_id is None:
        return redirect(url_for("accounts.activate"))
    form = ActivationCodeForm()
    if form.validate_on_submit():
        worker = None
        if form.password.data != form.password_confirm.data:
            _show(form, Refusal.fields({"password_confirm": "password_mismatch"}))
        else:
            try:
                with unit_of_work(db.session):
                    try:
                        worker = activate_worker(db.session, context.vault(), context.programme(), code_id=code_id,
                                                 code=form.code.data, password=form.password.data or "",
                                                 now=clock.now(), pledge=bool(form.pledge.data))
                    except CodeRefused as exc:
                        form.form_errors.append(exc.message)  # committed: the guess counts
            except Refusal as exc:
                _show(form, exc)
        if worker is not None:
            session.pop(CODE_SESSION_KEY, None)
            _log_in(worker.user)
            flash(_("Your account is active. This is your pass."), "success")
            return redirect(url_for("codes.pass_page"))
    return _anonymous_form_page("accounts/code.html", form, purpose="activate",
                                minutes=context.programme().accounts.one_time_code_minutes)


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit("5 per minute; 30 per hour", methods=["POST"])
@public
def reset():
    """Forgotten password, step 1 (workers and staff): the account's phone number."""
    if current_user.is_authenticated:
        return redirect(role_home_url(current_user.role))
    form = ResetRequestForm()
    if form.validate_on_submit():
        try:
            with unit_of_work(db.session):
                row = request_password_reset(db.session, context.vault(), context.programme(), form.phone.data,
                                             clock.now(), address=request.remote_addr)
            _remember_code("reset", row)
            return redirect(url_for("accounts.reset_code"))
        except Refusal as exc:
            _show(form, exc)
    return _anonymous_form_page("accounts/reset.html", form)


@bp.route("/reset/code", methods=["GET", "POST"])
@limiter.limit("10 per minute; 60 per hour", methods=["POST"])
@public
def reset_code():
    """Step 2: the code and a new password; every session of the account ends."""
    if current_user.is_authenticated:
        return redirect(role_home_url(current_user.role))
    code_id = _pending_code("reset")
    if code_id is None:
        return redirect(url_for("accounts.reset"))
    form = ResetForm()
    if form.validate_on_submit():
        user = None
        if form.password.data != form.password_confirm.data:
            _show(form, Refusal.fields({"password_confirm": "password_mismatch"}))
        else:
            now = clock.now()
            try:
                with unit_of_work(db.session):
                    try:
                        user = reset_password(db.session, context.vault(), context.programme(), code_id=code_id,
                                              code=form.code.data, password=form.password.data or "", now=now)
                        if user.role.is_staff:
                            record_audit(db.session, at=now, actor=user, action="password.reset",
                                         target_type="user", target_id=user.id, ip=request.remote_addr)
                    except CodeRefused as exc:
                        form.form_errors.append(exc.message)  # committed: the guess counts
            except Refusal as exc:
                _show(form, exc)
        if user is not None:
            session.pop(CODE_SESSION_KEY, None)
            flash(_("Your password has been changed. Log in with the new password."), "success")
            return redirect(url_for("accounts.login"))
    return _anonymous_form_page("accounts/code.html", form, purpose="reset",
                                minutes=context.programme().accounts.one_time_code_minutes)


@bp.get("/me")
@roles_required(Role.WORKER)
def home():
    """The worker's home: every room's card (pass, bookings, benefits, evidence) at a glance."""
    worker = current_worker()
    now = clock.now()
    panels = [
        Markup(render_template(panel.template, worker=worker, now=now, **panel.context))  # noqa: S704 - rendered templates
        for panel in home_panels(db.session, worker, context.programme(), now)
    ]
    return render_template("accounts/home.html", worker=worker, panels=panels, now=now)


@bp.get("/account")
@public
def account_redirect():
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login"))
    return redirect(role_home_url(current_user.role))


def staff_roles() -> tuple[Role, ...]:
    return tuple(role for role in Role if role.is_staff)


# --- a change of phone number (any logged-in account) -----------------------------------------------

PHONE_SESSION_KEY = "phone_change_codes"


@bp.route("/account/phone", methods=["GET", "POST"])
@limiter.limit("5 per minute; 30 per hour", methods=["POST"])
@roles_required(*Role)
def phone_change():
    """Step 1: the new number. One code goes to the current number, one to the new one (an
    official can also change it, on the accounts desk)."""
    form = PhoneChangeForm()
    if form.validate_on_submit():
        now = clock.now()
        try:
            with unit_of_work(db.session):
                old, new = request_phone_change(db.session, context.vault(), context.programme(), current_user,
                                                form.new_phone.data or "", now, address=request.remote_addr)
            session[PHONE_SESSION_KEY] = {"old": old.id, "new": new.id}
            return redirect(url_for("accounts.phone_confirm"))
        except Refusal as exc:
            _show(form, exc)
    return _anonymous_form_page("accounts/phone.html", form, step=1)


@bp.route("/account/phone/confirm", methods=["GET", "POST"])
@limiter.limit("10 per minute; 60 per hour", methods=["POST"])
@roles_required(*Role)
def phone_confirm():
    """Step 2: both codes and the new number again."""
    pending = session.get(PHONE_SESSION_KEY)
    if not (isinstance(pending, dict) and isinstance(pending.get("old"), int) and isinstance(pending.get("new"), int)):
        return redirect(url_for("accounts.phone_change"))
    form = PhoneConfirmForm()
    if form.validate_on_submit():
        now = clock.now()
        changed = False
        try:
            with unit_of_work(db.session):
                try:
                    change_phone(db.session, context.vault(), context.programme(), current_user,
                                 new_phone_raw=form.new_phone.data or "", old_code_id=pending["old"],
                                 old_code=form.old_code.data, new_code_id=pending["new"], new_code=form.new_code.data,
                                 now=now)
                    changed = True
                    if current_user.role.is_staff:
                        record_audit(db.session, at=now, actor=current_user, action="user.phone.change",
                                     target_type="user", target_id=current_user.id, ip=request.remote_addr)
                except CodeRefused as exc:
                    form.form_errors.append(exc.message)  # committed: the guesses count
        except Refusal as exc:
            _show(form, exc)
        except sa.exc.IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
            changed = False
            form.form_errors.append(CodeRefused("code_invalid").message)  # the number was taken meanwhile
        if changed:
            session.pop(PHONE_SESSION_KEY, None)
            flash(_("Your phone number has been changed. Log in with the new number from now on."), "success")
            return redirect(url_for("accounts.account_redirect"))
    return _anonymous_form_page("accounts/phone.html", form, step=2,
                                minutes=context.programme().accounts.one_time_code_minutes)


# --- development only --------------------------------------------------------------------------

def dev_codes():
    """DEVELOPMENT ONLY: the one-time codes lately put in the SMS outbox, so the demo can be
    walked through without a phone. The route exists only when WZCHECKIN_DEV=1."""
    g.personal_data = True
    messages = db.session.scalars(sa.select(SmsMessage).where(SmsMessage.kind == SMS_KIND)
                                  .order_by(SmsMessage.id.desc()).limit(20)).all()
    return render_template("accounts/dev_codes.html", messages=messages)


@bp.record_once
def _development_routes(state) -> None:
    if state.app.config.get("DEV_MODE"):
        dev_codes.wz_roles = ("anonymous",)
        state.app.add_url_rule("/dev/codes", endpoint="accounts.dev_codes", view_func=dev_codes)


from wzcheckin.accounts import desk  # noqa: E402, F401 - the officials' account pages, on this blueprint
