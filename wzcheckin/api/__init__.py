"""The JSON API under ``/api/v1``: one blueprint that every room adds its routes to through
:func:`api_route`, which authenticates, checks the role, validates the request body with the
route's pydantic model (``wzcheckin.api.shapes``), and documents the route — from the same
models — in the OpenAPI document served at ``/api/v1/openapi.json``."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

from flask import Blueprint, Request, current_app, g, make_response, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from pydantic import BaseModel

from wzcheckin.api.shapes import QueryModel, RequestModel, ResponseShapeError, check_answer, parse_body
from wzcheckin.core.api_errors import ApiError
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
    body: type[RequestModel] | type[BaseModel] | None = None
    query: type[QueryModel] | None = None
    responses: dict[int, type[BaseModel] | None] = field(default_factory=dict)
    tag: str = ""
    request_media_type: str = "application/json"
    response_media_type: str = "application/json"


OPERATIONS: list[Operation] = []


def json_body(this_request: Request | None = None) -> dict:
    """The request's JSON object, or a 400/413/415 ApiError."""
    if this_request is None:
        this_request = request._get_current_object()
    if this_request.content_length is not None and this_request.content_length > MAX_JSON_BYTES:
        raise ApiError(413, "too_large")
    if not this_request.is_json:
        raise ApiError(415, "unsupported_media_type")
    try:
        data = this_request.get_json(silent=True)
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
              body: type[BaseModel] | None = None, body_required: bool = True,
              query: type[QueryModel] | None = None, responses: dict[int, type[BaseModel] | None] | None = None,
              tag: str = "", max_body_bytes: int = MAX_JSON_BYTES,
              request_media_type: str = "application/json", response_media_type: str = "application/json",
              bearer_principal: bool = False, begins_at_first_write: bool = False) -> Callable:
    """Register an API route. ``roles=None`` makes it public; otherwise the caller must be
    authenticated (bearer token, or session cookie plus CSRF header for writes) in one role.
    A body larger than ``max_body_bytes`` is refused (413) before anything else is done, whether
    or not the route reads it.

    ``body``: the request body's model. A JSON body (a :class:`~wzcheckin.api.shapes.RequestModel`)
    is parsed and validated here, after the caller is let in, and handed to the view as its
    ``body`` argument (``None`` for an empty body when ``body_required`` is false); another media
    type is only documented by it and read by the view. ``query``: the query parameters' model,
    validated alike and handed to the view as ``query``. ``responses``: status → the answer's
    model (``None``: no body); under test every answer is held to its model.
    ``bearer_principal``: on a bearer request ``current_user`` is the accounts room's read-only
    ``ApiPrincipal`` (id, role, language, checkpoint's columns), not the ORM user — only for views
    that read nothing else of their caller (the scan hot path). ``begins_at_first_write``: on
    PostgreSQL the request reads outside a transaction and the view's domain code begins one where
    it writes (``db.reads_outside_a_transaction``) — only for a view whose every write goes
    through code that asks (the scan route)."""
    reads_json = body is not None and request_media_type == "application/json"
    if reads_json and not issubclass(body, RequestModel):
        raise TypeError(f"{rule}: a JSON request body is described by a RequestModel")
    answers = dict(responses or {})

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            # The request's objects, each looked up once (a context-local look-up is not free, and
            # the scan path would make dozens).
            this_request, request_globals = request._get_current_object(), g._get_current_object()
            length = this_request.content_length
            if length is not None and length > max_body_bytes:
                raise ApiError(413, "too_large")
            if roles is not None:
                caller = current_user._get_current_object()
                if not caller.is_authenticated:
                    raise ApiError(401, "unauthorised")
                if request_globals.get("auth_method") == "session" and this_request.method not in SAFE_METHODS:
                    try:
                        csrf.protect()
                    except CSRFError:
                        raise ApiError(403, "csrf_failed", _l("Missing or invalid CSRF token.")) from None
                if caller.role not in roles:
                    raise ApiError(403, "forbidden")
                request_globals.personal_data = True
            if query is not None:
                kwargs["query"] = parse_body(query, this_request.args.to_dict())
            if reads_json:
                kwargs["body"] = (parse_body(body, json_body(this_request)) if body_required or length
                                  else None)
            answer = view(*args, **kwargs)
            if current_app.config.get("API_CHECK_RESPONSES", current_app.testing):
                answer = make_response(answer)
                _check_answer(rule, answers, response_media_type, answer)
            return answer

        wrapped.wz_roles = ("anonymous",) if roles is None else tuple(roles)
        wrapped.wz_max_body_bytes = max_body_bytes
        wrapped.wz_bearer_principal = bearer_principal
        wrapped.wz_begins_at_first_write = begins_at_first_write
        api_bp.add_url_rule(rule, view_func=wrapped, methods=methods)
        for method in methods:
            OPERATIONS.append(Operation(
                rule=rule, method=method.lower(), endpoint=f"api.{view.__name__}",
                roles=None if roles is None else tuple(str(r) for r in roles), summary=summary,
                body=body, query=query, responses=answers, tag=tag,
                request_media_type=request_media_type, response_media_type=response_media_type,
            ))
        return wrapped

    return decorator


def _check_answer(rule: str, answers: dict[int, type[BaseModel] | None], media_type: str, response) -> None:
    """Under test: the answer's status is documented, and its body is what that status's model says."""
    status = response.status_code
    if status not in answers:
        raise ResponseShapeError(f"{request.method} {rule} answered {status}, which it does not document")
    model = answers[status]
    if model is None:
        if response.get_data():
            raise ResponseShapeError(f"{request.method} {rule} answered {status} with a body it does not document")
    elif response.mimetype == "application/json" == media_type or (status >= 400 and response.is_json):
        check_answer(model, response.get_data())


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", rule)
