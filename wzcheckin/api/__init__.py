"""The JSON API under ``/api/v1``: one blueprint that every room adds its routes to through
:func:`api_route`, which authenticates, checks the role, and documents the route in the
OpenAPI document served at ``/api/v1/openapi.json``."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

from flask import Blueprint, g, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from wzcheckin.api.errors import ApiError
from wzcheckin.core.roles import Role
from wzcheckin.core.security import contains_nul
from wzcheckin.extensions import csrf

api_bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(api_bp)  # bearer tokens need no CSRF; cookie-authenticated writes are checked below

MAX_JSON_BYTES = 64 * 1024
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass
class Operation:
    rule: str
    method: str
    endpoint: str
    roles: tuple[str, ...] | None
    summary: str
    request_schema: dict | None = None
    responses: dict[int, dict] = field(default_factory=dict)
    parameters: list[dict] = field(default_factory=list)
    tag: str = ""
    request_media_type: str = "application/json"
    response_media_type: str = "application/json"


OPERATIONS: list[Operation] = []


def json_body() -> dict:
    """The request's JSON object, or a 400/413/415 ApiError."""
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise ApiError(413, "too_large")
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type")
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the JSON parser's recursion limit
        data = None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", _l("The body must be a JSON object."))
    if contains_nul(data):  # never meant, and PostgreSQL cannot store it
        raise ApiError(400, "invalid_characters", _l("The request contains a NUL character."))
    if contains_non_finite(data):
        raise ApiError(400, "non_finite_number", _l("Numbers must be finite: NaN and Infinity are not JSON."))
    return data


def contains_non_finite(value) -> bool:
    """True when a number anywhere in ``value`` is NaN or infinite. Python's JSON parser accepts
    the non-standard literals ``NaN`` and ``Infinity`` (and reads ``1e999`` as infinity); such a
    value cannot be compared or stored, so it is refused at the door as malformed JSON."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def api_route(rule: str, *, methods: list[str], roles: tuple[Role, ...] | None, summary: str,
              request_schema: dict | None = None, responses: dict[int, dict] | None = None,
              parameters: list[dict] | None = None, tag: str = "", max_body_bytes: int = MAX_JSON_BYTES,
              request_media_type: str = "application/json", response_media_type: str = "application/json") -> Callable:
    """Register an API route. ``roles=None`` makes it public; otherwise the caller must be
    authenticated (bearer token, or session cookie plus CSRF header for writes) in one role.
    A body larger than ``max_body_bytes`` is refused (413) before anything else is done, whether
    or not the route reads it."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if request.content_length is not None and request.content_length > max_body_bytes:
                raise ApiError(413, "too_large")
            if roles is not None:
                if not current_user.is_authenticated:
                    raise ApiError(401, "unauthorised")
                if g.get("auth_method") == "session" and request.method not in SAFE_METHODS:
                    try:
                        csrf.protect()
                    except CSRFError:
                        raise ApiError(403, "csrf_failed", _l("Missing or invalid CSRF token.")) from None
                if current_user.role not in roles:
                    raise ApiError(403, "forbidden")
                g.personal_data = True
            return view(*args, **kwargs)

        wrapped.wz_roles = ("anonymous",) if roles is None else tuple(roles)
        wrapped.wz_max_body_bytes = max_body_bytes
        api_bp.add_url_rule(rule, view_func=wrapped, methods=methods)
        for method in methods:
            OPERATIONS.append(Operation(
                rule=rule, method=method.lower(), endpoint=f"api.{view.__name__}",
                roles=None if roles is None else tuple(str(r) for r in roles), summary=summary,
                request_schema=request_schema, responses=dict(responses or {}),
                parameters=list(parameters or []), tag=tag, request_media_type=request_media_type,
                response_media_type=response_media_type,
            ))
        return wrapped

    return decorator


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", rule)
