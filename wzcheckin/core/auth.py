"""Who may do what: the Flask-Login wiring (server-side sessions, bearer tokens) and the role
decorator that guards every page. API routes are guarded by ``api.api_route``.

Object-level checks (a gatekeeper sees only its own enterprise) are done by the views through
the helpers at the bottom, never by trusting ids from the request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from flask import abort, current_app, g, redirect, request, session, url_for
from flask_login import current_user

from wzcheckin import clock
from wzcheckin.accounts.models import Role, User
from wzcheckin.accounts.services import (
    SESSION_TOUCH_INTERVAL,
    SessionPolicy,
    authenticate_api_token,
    load_session,
)
from wzcheckin.extensions import db, login_manager

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
    from sqlalchemy import update

    from wzcheckin.accounts.models import UserSession
    from wzcheckin.db import SQLITE_WRITE_OPTION

    with db.engine.connect() as connection:
        connection = connection.execution_options(**{SQLITE_WRITE_OPTION: True})
        with connection.begin():
            connection.execute(update(UserSession).where(UserSession.id == row_id).values(last_seen_at=now))


@login_manager.user_loader
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


@login_manager.request_loader
def _load_user_from_bearer(req) -> User | None:
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    from wzcheckin.codes.keys import keys_fingerprint_columns

    # The signing keys' fingerprint rides along in the same round trip, so the keyring's
    # per-request revocation check (codes.keys.KeyringCache) costs this request no query of its own.
    found = authenticate_api_token(db.session, header[len("Bearer "):].strip(), clock.now(),
                                   with_columns=keys_fingerprint_columns())
    if found is None:
        return None
    user, token_id, fingerprint = found
    g.auth_method = "bearer"
    g.api_token_id = token_id
    g.keys_fingerprint = fingerprint
    return user


@login_manager.unauthorized_handler
def _unauthorised():
    if request.path.startswith("/api/"):
        from wzcheckin.api.errors import ApiError

        raise ApiError(401, "unauthorised")  # the message comes from HTTP_CODES, in the caller's language
    session["next"] = request.full_path if request.method == "GET" else None
    return redirect(url_for("accounts.login"))


def roles_required(*roles: Role) -> Callable:
    """Page guard: log-in required, and one of ``roles``. Records the roles on the view so the
    access-control matrix test can read them."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            g.personal_data = True
            return view(*args, **kwargs)

        wrapped.wz_roles = tuple(roles)
        return wrapped

    return decorator


def public(view: Callable) -> Callable:
    """Marks a view as open to everybody (for the access-control matrix)."""
    view.wz_roles = ("anonymous",)
    return view


def current_worker():
    """The logged-in worker's Worker row (404 for anyone else)."""
    worker = getattr(current_user, "worker", None)
    if worker is None:
        abort(404)
    return worker


def current_checkpoint():
    """The checkpoint a staff member is bound to (403 when unbound)."""
    checkpoint = getattr(current_user, "checkpoint", None)
    if checkpoint is None:
        abort(403)
    return checkpoint


def current_enterprise():
    """The enterprise an enterprise admin or gatekeeper belongs to, via its gate checkpoint."""
    checkpoint = current_checkpoint()
    if checkpoint.enterprise_id is None:
        abort(403)
    return checkpoint.enterprise
