"""Error pages and JSON errors: a refusal always says why, in the reader's language, and an
unexpected error never shows a stack trace or personal data.

Failing well (issue 19): when the database is down, locked or full, the error path must not need
it. A database outage is answered 503 with ``Retry-After`` — ``{"error": {"code":
"database_unavailable", ...}}`` on the API, a page in the reader's language elsewhere — and logged
as one line per kind of outage per minute, without a traceback. Rendering an error never loads
the user or their language from the database (:func:`stop_using_database`), and every handler
falls back to the outage answer if rendering itself meets the outage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from wzcheckin.core.api_errors import HTTP_CODES, error_response, init_api_errors, is_api_request
from wzcheckin.core.logs import RateLimitedLog
from wzcheckin.db import (
    DATABASE_BUSY,
    DATABASE_READ_ONLY,
    DATABASE_UNAVAILABLE,
    DISK_FULL,
    database_outage,
    describe_outage,
)

log = logging.getLogger("wzcheckin.errors")

# code → (message, Retry-After seconds)
OUTAGES = {
    DATABASE_UNAVAILABLE: (_l("The service cannot reach its database just now. Please try again in a minute."), 10),
    DATABASE_BUSY: (_l("The service is very busy just now. Please try again in a few seconds."), 5),
    DISK_FULL: (_l("The service cannot save anything just now: its storage is full. Please try again later."), 60),
    DATABASE_READ_ONLY: (_l("The service cannot save changes just now. Please try again in a minute."), 30),
}

# When even the error template cannot be rendered: a page that needs nothing at all.
FALLBACK_PAGE = (
    '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>服务暂时不可用 · Service unavailable</title></head><body>"
    "<h1>服务暂时不可用</h1><p>请稍后再试。</p>"
    '<p lang="en">The service is unavailable just now. Please try again shortly.</p>'
    "</body></html>"
)


def answers_json() -> bool:
    return is_api_request() or request.path == "/healthz"


def stop_using_database() -> None:
    """From here on this request renders without the database: the user becomes anonymous (a
    user loaded earlier may hold expired attributes whose reading would query again) and the
    language comes from the cookie, the user's language if it is already in memory, or
    Accept-Language (see ``core.i18n.selected_language``)."""
    if g.get("database_off"):
        return
    g.database_off = True
    user = g.get("_login_user")
    state = sa.inspect(user, raiseerr=False) if user is not None else None
    g.saved_language = state.dict.get("language") if state is not None else getattr(user, "language", None)
    g._login_user = current_app.login_manager.anonymous_user()


def outage_headers(code: str) -> dict[str, str]:
    return {"Retry-After": str(OUTAGES[code][1]), "Cache-Control": "no-store"}


def outage_message(code: str) -> str:
    return str(OUTAGES[code][0])


def log_outage(code: str, error: BaseException) -> None:
    """One line per kind of outage per interval and process, no traceback: the outage is
    expected, and a traceback per failed request once filled disks in hours."""
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    current_app.extensions["wzcheckin.outage_log"].error(
        code, "database outage %s: %s (%s %s)", code, describe_outage(error), request.method, rule)


def outage_response(code: str, error: BaseException) -> Response:
    stop_using_database()
    log_outage(code, error)
    if answers_json():
        response = error_response(503, code, outage_message(code))
    else:
        response = render_page("errors/unavailable.html", 503, code=code, message=outage_message(code))
    response.headers.update(outage_headers(code))
    return response


def render_page(template: str, status: int, **context) -> Response:
    try:
        return make_response(render_template(template, status=status, **context), status)
    except Exception as exc:
        code = database_outage(exc)
        if code is not None and template != "errors/unavailable.html":
            return outage_response(code, exc)
        log.exception("the error page %s could not be rendered", template)
        response = make_response(FALLBACK_PAGE, status)
        response.mimetype = "text/html"
        return response


def _falls_back_on_outage(handler: Callable) -> Callable:
    """An error handler whose own rendering meets a database outage (a 404 page loading the
    logged-in user while the database is down) answers that outage instead of failing again."""

    @wraps(handler)
    def guarded(error):
        try:
            return handler(error)
        except Exception as exc:
            code = database_outage(exc)
            if code is None:
                raise
            return outage_response(code, exc)

    return guarded


def init_error_handlers(app: Flask) -> None:
    app.extensions["wzcheckin.outage_log"] = RateLimitedLog(
        logging.getLogger("wzcheckin.outage"), app.config.get("OUTAGE_LOG_INTERVAL_SECONDS", 60))
    init_api_errors(app, guard=_falls_back_on_outage)

    @app.errorhandler(CSRFError)
    @_falls_back_on_outage
    def _csrf_error(error: CSRFError):
        if is_api_request():
            return error_response(400, "csrf_failed", _("Missing or invalid CSRF token."))
        return render_page("errors/csrf.html", 400, back=request.path)

    @app.errorhandler(HTTPException)
    @_falls_back_on_outage
    def _http_error(error: HTTPException):
        status = error.code or 500
        if isinstance(error, InternalServerError) and error.original_exception is not None:
            # Flask's last resort after a handler failed: the original error decides.
            return _unexpected(error.original_exception)
        if is_api_request():
            code, message = HTTP_CODES.get(status, ("error", error.description))
            if status == 400 and getattr(error, "description", None) and "CSRF" in str(error.description):
                code = "csrf_failed"
            return error_response(status, code, message)
        template = f"errors/{status}.html" if status in (403, 404, 429) else "errors/generic.html"
        return render_page(template, status, error=error)

    @app.errorhandler(Exception)
    def _unexpected(error: BaseException):
        code = database_outage(error)
        if code is not None:
            return outage_response(code, error)
        stop_using_database()
        # Log the type and where, not the request body (it may hold ID numbers).
        log.exception("unhandled %s", type(error).__name__, exc_info=error)
        if answers_json():
            return error_response(500, "server_error", HTTP_CODES[500][1])
        return render_page("errors/generic.html", 500, error=None)
