"""Accounts room: who the user is — the Flask-Login wiring. A page session is a server-side
``UserSession`` row (its secret in Flask-Login's session key), an API call carries a bearer token;
both are read afresh on every request, so a disabled account or a revoked token fails at once.
What a user may do is guarded by ``core.auth.roles_required`` and ``api.api_route``."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager

from wzcheckin import clock
from wzcheckin.accounts.api_tokens import (
    ApiPrincipal,
    authenticate_api_principal,
    authenticate_api_token,
    principal_statement,
    token_statement,
)
from wzcheckin.accounts.models import User, UserSession
from wzcheckin.accounts.sessions import SESSION_TOUCH_INTERVAL, SessionPolicy, load_session
from wzcheckin.core.api_errors import ApiError
from wzcheckin.db import SQLITE_WRITE_OPTION, reads_outside_a_transaction
from wzcheckin.extensions import db

SESSION_SECRET_KEY = "_user_id"  # noqa: S105 - the name of a session key  # Flask-Login's key: it holds the UserSession secret


def session_policy() -> SessionPolicy:
    config = current_app.config
    return SessionPolicy(
        staff_idle=timedelta(minutes=config["STAFF_IDLE_TIMEOUT_MINUTES"]),
        staff_absolute=timedelta(hours=config["STAFF_ABSOLUTE_TIMEOUT_HOURS"]),
        worker_absolute=timedelta(days=config["WORKER_SESSION_DAYS"]),
    )


def _touch_session(row_id: int, now) -> None:
    """Record activity in its own short write, outside the request's transaction."""
    with db.engine.connect() as connection:
        connection = connection.execution_options(**{SQLITE_WRITE_OPTION: True})
        with connection.begin():
            connection.execute(sa.update(UserSession).where(UserSession.id == row_id).values(last_seen_at=now))


def _load_user_from_session(secret: str) -> User | None:
    now = clock.now()
    loaded = load_session(db.session, secret, now, session_policy())
    if loaded is None:
        return None
    user, row = loaded
    if now - row.last_seen_at > SESSION_TOUCH_INTERVAL:
        _touch_session(row.id, now)
    g.auth_method = "session"
    return user


def _load_user_from_bearer(req) -> User | ApiPrincipal | None:
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    # The statement was built once by init_login, with the columns another room wants read in the
    # same round trip (the signing keys' fingerprint: the keyring's per-request revocation check
    # then costs a bearer request no query of its own). A view that reads no more of its caller
    # than an ApiPrincipal holds (api_route(..., bearer_principal=True)) gets that, from one Core
    # row, instead of the ORM user.
    app = current_app._get_current_object()
    view = app.view_functions.get(req.endpoint) if req.endpoint else None
    session = db.session()  # the request's own, behind the scoped proxy
    if getattr(view, "wz_begins_at_first_write", False):
        reads_outside_a_transaction(session)  # before the request's first statement, this look-up
    if getattr(view, "wz_bearer_principal", False):
        found = authenticate_api_principal(session, header[len("Bearer "):].strip(), clock.now(),
                                           statement=app.extensions[PRINCIPAL_STATEMENT])
    else:
        found = authenticate_api_token(session, header[len("Bearer "):].strip(), clock.now(),
                                       statement=app.extensions[BEARER_STATEMENT])
    if found is None:
        return None
    user, token_id, values = found
    request_globals = g._get_current_object()
    request_globals.auth_method = "bearer"
    request_globals.api_token_id = token_id
    request_globals.bearer_extra_values = values
    return user


def _unauthorised():
    if request.path.startswith("/api/"):
        raise ApiError(401, "unauthorised")  # the message comes from HTTP_CODES, in the caller's language
    session["next"] = request.full_path if request.method == "GET" else None
    return redirect(url_for("accounts.login"))


BEARER_STATEMENT = "wzcheckin.bearer_statement"
PRINCIPAL_STATEMENT = "wzcheckin.bearer_principal_statement"


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, minus its fixed cost on the requests that carry no session
    cookie (every scanner device and integration authenticating with a bearer token): Flask
    builds its signing serializer before it looks for the cookie; here the serializer is built only
    to read a cookie that is there (an empty session for the rest, writable as before)."""

    def open_session(self, app, request):
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        # An empty session nobody wrote to sets no cookie: Flask would read seven cookie settings
        # to learn that. What it does for such a session, it does here.
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def init_login(app, login_manager: LoginManager, *, bearer_extra_columns: tuple = ()) -> None:
    """Hand Flask-Login this room's loaders (create_app). ``bearer_extra_columns``: scalar columns
    to read with each bearer token (their values in ``g.bearer_extra_values``)."""
    app.extensions[BEARER_STATEMENT] = token_statement(bearer_extra_columns)
    app.extensions[PRINCIPAL_STATEMENT] = principal_statement(bearer_extra_columns)
    app.session_interface = CookieSessionInterface()
    login_manager.user_loader(_load_user_from_session)
    login_manager.request_loader(_load_user_from_bearer)
    login_manager.unauthorized_handler(_unauthorised)
