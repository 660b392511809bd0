"""Core: who may do what — the role decorator that guards every page (``roles_required``,
``public``). API routes are guarded by ``api.api_route``; who the user is (the Flask-Login wiring:
server-side sessions, bearer tokens) is the accounts room's (``accounts/auth.py``).

Object-level checks (a gatekeeper sees only its own enterprise) are done by the views through
the helpers at the bottom, never by trusting ids from the request.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, g
from flask_login import current_user

from wzcheckin.core.roles import Role
from wzcheckin.extensions import login_manager


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
