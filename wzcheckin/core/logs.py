"""Logs that stay readable: every line names the request it belongs to, and an outage is one
line per kind per minute, not a traceback per request.

The request id is the caller's ``X-Request-ID`` when it is sane (a proxy's or a client's id, so
lines can be matched across systems), otherwise a fresh one; it goes back in the response's
``X-Request-ID`` header and into every log record through :class:`RequestIdFilter`.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass

from flask import Flask, Response, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"

_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:=+/-]{8,128}")
_DIGIT_RUN = re.compile(r"\d+[Xx]?")


def _looks_like_personal_number(value: str) -> bool:
    """A run of digits shaped like a mainland mobile number or an ID number (15 or 18
    characters): such a "request id" would put personal data into every log line."""
    for match in _DIGIT_RUN.finditer(value):
        run = match.group()
        digits = run.rstrip("Xx")
        if (len(digits) == 11 and digits.startswith("1")) or len(run) in (15, 18):
            return True
    return False


def sane_request_id(value: str | None) -> str | None:
    """``value`` if it is fit for a log line: 8–128 characters of letters, digits and ``._:=+/-``,
    and nothing shaped like a phone or ID number; otherwise None."""
    if not value or not _SANE_REQUEST_ID.fullmatch(value) or _looks_like_personal_number(value):
        return None
    return value


def current_request_id() -> str | None:
    """This request's id (made on first use, so error paths that run before any hook have it
    too); None outside a request."""
    if not has_request_context():
        return None
    request_id = g.get("request_id")
    if request_id is None:
        request_id = sane_request_id(request.headers.get(REQUEST_ID_HEADER)) or uuid.uuid4().hex
        g.request_id = request_id
    return request_id


class RequestIdFilter(logging.Filter):
    """Puts ``request_id`` on every record that passes the handler ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id() or "-"
        return True


def install_request_id_filter(handler: logging.Handler) -> None:
    if not any(isinstance(existing, RequestIdFilter) for existing in handler.filters):
        handler.addFilter(RequestIdFilter())


def configure_logging() -> None:
    """Root logging for the app's processes: one stream handler (stderr) whose lines carry the
    request id. Handlers someone else set up (gunicorn's ``--log-config``, a test runner) are
    kept and get the filter, so ``%(request_id)s`` works in their formats too."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    for handler in root.handlers:
        install_request_id_filter(handler)


def init_request_ids(app: Flask) -> None:
    @app.after_request
    def _request_id_header(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = current_request_id()
        return response


@dataclass
class _Kind:
    logged_at: float
    suppressed: int = 0


class RateLimitedLog:
    """At most one line per kind per ``interval`` seconds; the next line says how many were left
    out. For failures that repeat on every request while they last (a database outage), so the
    log shows that it happened, when, and how often, without filling the disk."""

    def __init__(self, logger: logging.Logger, interval: float):
        self.logger = logger
        self.interval = interval
        self._kinds: dict[str, _Kind] = {}
        self._lock = threading.Lock()

    def error(self, kind: str, message: str, *args) -> bool:
        """Log ``message`` at ERROR level unless ``kind`` was logged within the interval; True
        when a line was written."""
        now = time.monotonic()  # a rate, not a programme time: the app clock is not involved
        with self._lock:
            seen = self._kinds.get(kind)
            if seen is not None and now - seen.logged_at < self.interval:
                seen.suppressed += 1
                return False
            suppressed = seen.suppressed if seen is not None else 0
            self._kinds[kind] = _Kind(logged_at=now)
        if suppressed:
            message += " (%d more like it since the last line)"
            args = (*args, suppressed)
        self.logger.error(message, *args)
        return True
