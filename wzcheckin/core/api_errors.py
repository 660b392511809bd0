"""Core: API errors: ``{"error": {"code": "...", "message": "..."}}`` with the right HTTP status; the
code is stable, the message is in the caller's language."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l

from wzcheckin.core.refusals import INVALID, Refusal


class ApiError(Exception):
    def __init__(self, status: int, code: str, message=None, **extra):
        super().__init__(code)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


HTTP_CODES = {
    400: ("bad_request", _l("The request is malformed.")),
    401: ("unauthorised", _l("Log in or send a valid API token.")),
    403: ("forbidden", _l("You may not do this.")),
    404: ("not_found", _l("Not found.")),
    405: ("method_not_allowed", _l("This method is not allowed here.")),
    409: ("conflict", _l("This conflicts with the current state.")),
    413: ("too_large", _l("The request body is too large.")),
    415: ("unsupported_media_type", _l("Send JSON (Content-Type: application/json).")),
    422: ("invalid", _l("Some values are not valid.")),
    429: ("rate_limited", _l("Too many requests; slow down and try again shortly.")),
    500: ("server_error", _l("Something went wrong on our side; it has been logged.")),
    503: ("service_unavailable", _l("The service is unavailable just now. Please try again shortly.")),
}


def refusal_error(refusal: Refusal, **extra) -> ApiError:
    """A domain refusal as the API says it: its status, code and message; a refusal of fields
    (``Refusal.fields``) as 422 ``invalid`` with each field's message and code."""
    if refusal.code == INVALID:
        return ApiError(422, INVALID, None, fields=refusal.field_messages(), codes=dict(refusal.errors), **extra)
    return ApiError(refusal.status, refusal.code, refusal.message, **extra)


def error_response(status: int, code: str, message, **extra):
    body = {"error": {"code": code, "message": str(message), **extra}}
    response = jsonify(body)
    response.status_code = status
    return response


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def init_api_errors(app: Flask, guard: Callable[[Callable], Callable] = lambda handler: handler) -> None:
    """``guard`` wraps the handler (core.errors: answer a database outage met while rendering)."""

    @app.errorhandler(Refusal)
    @guard
    def _refusal(refusal: Refusal):
        """A refusal no view caught: on the API its own answer; on a page a plain error page
        with its message (views normally put it on their form, ``core.forms``)."""
        if is_api_request():
            return _api_error(refusal_error(refusal))
        status = refusal.status if 400 <= refusal.status < 500 else 409
        return render_template("errors/generic.html", status=status, error=None, message=refusal.message), status

    @app.errorhandler(ApiError)
    @guard
    def _api_error(error: ApiError):
        default_code, default_message = HTTP_CODES.get(error.status, ("error", ""))
        return error_response(error.status, error.code or default_code, error.message or default_message,
                              **error.extra)
