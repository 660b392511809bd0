"""Accounts room, the officials' desk for accounts: find an account by its phone number, see its
state and API tokens, disable it (with a reason) or enable it, revoke its tokens, and reset a
staff account's password. The same as ``wzcheckin user disable|enable`` and ``token revoke``;
every action is audited. The phone typed is never put in a URL: the account's page is by id."""

from __future__ import annotations

import secrets

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField

from wzcheckin import clock
from wzcheckin.accounts.api_tokens import list_api_tokens, revoke_api_tokens, token_state
from wzcheckin.accounts.credentials import set_phone
from wzcheckin.accounts.errors import AccountError
from wzcheckin.accounts.lookups import find_user_by_phone, hash_password
from wzcheckin.accounts.models import User
from wzcheckin.accounts.sessions import disable_user, enable_user, end_all_sessions
from wzcheckin.accounts.views import bp
from wzcheckin.core import context
from wzcheckin.core.audit import record_audit
from wzcheckin.core.auth import roles_required
from wzcheckin.core.identity import InvalidIdentifier, parse_phone
from wzcheckin.core.roles import Role
from wzcheckin.db import is_unique_violation, unit_of_work
from wzcheckin.extensions import db

TEMPORARY_PASSWORD_BYTES = 9  # 12 URL-safe characters


class FindAccountForm(FlaskForm):
    phone = StringField(render_kw={"inputmode": "tel", "autocomplete": "off"})


class DisableForm(FlaskForm):
    reason = StringField(render_kw={"maxlength": "500"})


class ActionForm(FlaskForm):
    """Only the CSRF token (enable; revoke all tokens)."""


class ResetStaffForm(FlaskForm):
    confirm = BooleanField()


class OfficialPhoneForm(FlaskForm):
    new_phone = StringField(render_kw={"inputmode": "tel", "autocomplete": "off"})
    reason = StringField(render_kw={"maxlength": "500"})


def _account(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _audit(action: str, user: User, details: dict | None = None) -> None:
    record_audit(db.session, at=clock.now(), actor=current_user._get_current_object(), action=action,
                 target_type="user", target_id=user.id, details=details, ip=request.remote_addr)


@bp.route("/official/accounts", methods=["GET", "POST"])
@roles_required(Role.OFFICIAL)
def desk_find():
    form = FindAccountForm()
    if form.validate_on_submit():
        try:
            phone = parse_phone(form.phone.data or "")
        except InvalidIdentifier:
            phone = None
        user = find_user_by_phone(db.session, context.vault(), phone) if phone else None
        if user is not None:
            return redirect(url_for("accounts.desk_account", user_id=user.id))
        form.form_errors.append(_("No account has this phone number."))
    form.phone.data = ""
    return render_template("accounts/desk_find.html", form=form)


@bp.get("/official/accounts/<rowid:user_id>")
@roles_required(Role.OFFICIAL)
def desk_account(user_id: int):
    user = _account(user_id)
    now = clock.now()
    tokens = [(token, token_state(token, now)) for token in list_api_tokens(db.session, user)]
    return render_template("accounts/desk_account.html", account=user, tokens=tokens, disable_form=DisableForm(),
                           action_form=ActionForm(), reset_form=ResetStaffForm(), phone_form=OfficialPhoneForm(),
                           temporary_password=None)


@bp.post("/official/accounts/<rowid:user_id>/disable")
@roles_required(Role.OFFICIAL)
def desk_disable(user_id: int):
    user = _account(user_id)
    form = DisableForm()
    reason = (form.reason.data or "").strip() if form.validate_on_submit() else ""
    if not reason:
        flash(_("Say why the account is disabled."), "error")
    elif user.id == current_user.id:
        flash(_("You cannot disable your own account."), "error")
    elif user.disabled_at is not None:
        flash(_("The account is already disabled."), "error")
    else:
        with unit_of_work(db.session):
            revoked = disable_user(db.session, user, clock.now(), reason=reason)
            _audit("user.disable", user, {"reason": reason[:500], "tokens_revoked": revoked})
        flash(_("The account is disabled: its sessions and API tokens are refused from their next request."),
              "success")
    return redirect(url_for("accounts.desk_account", user_id=user.id))


@bp.post("/official/accounts/<rowid:user_id>/enable")
@roles_required(Role.OFFICIAL)
def desk_enable(user_id: int):
    user = _account(user_id)
    if ActionForm().validate_on_submit():
        try:
            with unit_of_work(db.session):
                enable_user(db.session, user)
                _audit("user.enable", user)
            flash(_("The account is enabled: it may log in again."), "success")
        except AccountError:
            flash(_("The account is not disabled."), "error")
    return redirect(url_for("accounts.desk_account", user_id=user.id))


@bp.post("/official/accounts/<rowid:user_id>/tokens/revoke")
@roles_required(Role.OFFICIAL)
def desk_revoke_tokens(user_id: int):
    """``token_id`` revokes one token; ``all`` every live one."""
    user = _account(user_id)
    if ActionForm().validate_on_submit():
        raw_id = request.form.get("token_id", "")
        token_id = int(raw_id) if raw_id.isascii() and raw_id.isdigit() and len(raw_id) < 12 else None
        if token_id is None and request.form.get("all") != "1":
            flash(_("Choose a token to revoke."), "error")
        else:
            try:
                with unit_of_work(db.session):
                    revoked = revoke_api_tokens(db.session, user, clock.now(), token_id=token_id)
                    _audit("token.revoke", user, {"tokens": revoked, "all": token_id is None})
                flash(_("Revoked %(count)s API token(s).", count=len(revoked)), "success")
            except AccountError:
                abort(404)
    return redirect(url_for("accounts.desk_account", user_id=user.id))


@bp.post("/official/accounts/<rowid:user_id>/reset")
@roles_required(Role.OFFICIAL)
def desk_reset_staff(user_id: int):
    """An official resets a staff account's password: a temporary password, shown once here to
    hand over in person; every session of the account ends. Workers reset their own by SMS."""
    user = _account(user_id)
    form = ResetStaffForm()
    if not (form.validate_on_submit() and form.confirm.data):
        flash(_("Tick the box to confirm the reset."), "error")
        return redirect(url_for("accounts.desk_account", user_id=user.id))
    if not user.role.is_staff or user.id == current_user.id:
        flash(_("Only another staff or official account can be reset here; workers reset theirs by SMS."), "error")
        return redirect(url_for("accounts.desk_account", user_id=user.id))
    temporary = secrets.token_urlsafe(TEMPORARY_PASSWORD_BYTES)
    with unit_of_work(db.session):
        user.password_hash = hash_password(temporary)
        end_all_sessions(db.session, user)
        _audit("password.reset.official", user)
    now = clock.now()
    tokens = [(token, token_state(token, now)) for token in list_api_tokens(db.session, user)]
    return render_template("accounts/desk_account.html", account=user, tokens=tokens, disable_form=DisableForm(),
                           action_form=ActionForm(), reset_form=ResetStaffForm(), phone_form=OfficialPhoneForm(),
                           temporary_password=temporary)


@bp.post("/official/accounts/<rowid:user_id>/phone")
@roles_required(Role.OFFICIAL)
def desk_change_phone(user_id: int):
    """An official changes an account's phone number (the owner lost the old phone), with a
    reason; audited. Every session of the account ends."""
    import sqlalchemy as sa


    user = _account(user_id)
    form = OfficialPhoneForm()
    reason = (form.reason.data or "").strip() if form.validate_on_submit() else ""
    try:
        new_phone = parse_phone(form.new_phone.data or "")
    except InvalidIdentifier:
        new_phone = None
    if not reason or new_phone is None:
        flash(_("Give the new number and the reason for the change."), "error")
        return redirect(url_for("accounts.desk_account", user_id=user.id))
    if find_user_by_phone(db.session, context.vault(), new_phone) is not None:
        flash(_("This phone number belongs to another account."), "error")
        return redirect(url_for("accounts.desk_account", user_id=user.id))
    try:
        with unit_of_work(db.session):
            old_masked = user.phone_masked
            set_phone(db.session, context.vault(), user, new_phone)
            end_all_sessions(db.session, user)
            _audit("user.phone.change.official", user, {"reason": reason[:500], "from": old_masked,
                                                        "to": user.phone_masked})
    except sa.exc.IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        flash(_("This phone number belongs to another account."), "error")
        return redirect(url_for("accounts.desk_account", user_id=user.id))
    flash(_("The phone number has been changed."), "success")
    return redirect(url_for("accounts.desk_account", user_id=user.id))
