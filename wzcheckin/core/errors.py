"""Error pages and JSON errors: a refusal always says why, in the reader's language, and an
unexpected error never shows a stack trace or personal data."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from wzcheckin.api.errors import HTTP_CODES, error_response, init_api_errors, is_api_request

log = logging.getLogger("wzcheckin.errors")


def init_error_handlers(app: Flask) -> None:
    init_api_errors(app)

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError):
        if is_api_request():
            return error_response(400, "csrf_failed", _("Missing or invalid CSRF token."))
        return render_template("errors/csrf.html", back=request.path), 400

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        status = error.code or 500
        if is_api_request():
            code, message = HTTP_CODES.get(status, ("error", error.description))
            if status == 400 and getattr(error, "description", None) and "CSRF" in str(error.description):
                code = "csrf_failed"
            return error_response(status, code, message)
        template = f"errors/{status}.html" if status in (403, 404, 429) else "errors/generic.html"
        return render_template(template, status=status, error=error), status

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        # Log the type and where, not the request body (it may hold ID numbers).
        log.exception("unhandled %s", type(error).__name__)
        if is_api_request():
            return error_response(500, "server_error", HTTP_CODES[500][1])
        return render_template("errors/generic.html", status=500, error=None), 500
