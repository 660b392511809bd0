"""HTTP security headers (OWASP ASVS V14 / V3): a strict CSP with no inline script, no framing,
no sniffing, HSTS over HTTPS, and no caching of pages that show personal data. And one check on
every request's input that no room has to repeat: no NUL characters."""

from __future__ import annotations

from flask import Flask, Response, abort, g, request
from flask_login import current_user

STATIC_PREFIX = "/static/"  # the app's static_url_path (create_app)
FORM_MIMETYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}

BASE_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "connect-src": "'self'",
    "font-src": "'self'",
    "media-src": "'self' blob:",
    "worker-src": "'self'",
    "manifest-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def _policy(directives: dict) -> str:
    return "; ".join(f"{name} {value}" for name, value in directives.items())


# Built once: the policy and the fixed headers are the same for every answer.
CSP = _policy(BASE_CSP)
STATIC_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(self), microphone=(), geolocation=(), payment=()"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def content_security_policy() -> str:
    return CSP


def init_security_headers(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        # One look at the headers already set, then appends: Headers.setdefault scans (and
        # lower-cases) every header for each name, seven times over on every answer.
        present = {name.lower() for name, _value in headers.items()}
        if "content-security-policy" not in present:
            headers.add("Content-Security-Policy", content_security_policy())
        for name, value in STATIC_HEADERS:
            if name.lower() not in present:
                headers.add(name, value)
        this_request, request_globals = request._get_current_object(), g._get_current_object()
        if this_request.is_secure and "strict-transport-security" not in present:
            headers.add(*HSTS)
        # A static file is the same for every caller and never private: decide that from the
        # path alone, before anything loads the user (a session query for every script and icon).
        if this_request.path.startswith(STATIC_PREFIX):
            return response
        # Any logged-in caller's answer is private. When the request already loaded its user, ask
        # that object whether it is anonymous (no attribute read: after a rolled-back transaction
        # ``is_authenticated`` would re-load the row, one more query for every refused request).
        user = request_globals.get("_login_user")
        if user is None:
            user = current_user
        personal = not user.is_anonymous or request_globals.get("personal_data")
        if personal:
            headers["Cache-Control"] = "no-store"
            headers.add("Vary", "Cookie")
        return response


def contains_nul(value) -> bool:
    """True when a string anywhere in ``value`` (JSON: dicts, lists, keys) holds a NUL character."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def init_input_checks(app: Flask) -> None:
    """A NUL character is never part of a name, a number or a note, and PostgreSQL cannot store
    one in a text column (it would be a 500 there and stored on SQLite): refuse it at the door,
    in the URL, the query string and form fields. JSON bodies: ``api.json_body``; CSV files:
    ``core.csv_import.read_text``."""

    @app.before_request
    def _refuse_nul_characters():
        values = list((request.view_args or {}).values())
        if request.query_string:  # parsed only when there is one (not on a scan)
            values += [*request.args.keys(), *request.args.values()]
        if request.mimetype in FORM_MIMETYPES:
            values += [*request.form.keys(), *request.form.values()]
        if values and contains_nul(values):
            abort(400)
