"""HTTP security headers (OWASP ASVS V14 / V3): a strict CSP with no inline script, no framing,
no sniffing, HSTS over HTTPS, and no caching of pages that show personal data."""

from __future__ import annotations

from flask import Flask, Response, g, request
from flask_login import current_user

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


def allow_wasm() -> None:
    """The scanner page compiles the QR decoder's WebAssembly; only it may."""
    g.csp_allow_wasm = True


def content_security_policy() -> str:
    directives = dict(BASE_CSP)
    if g.get("csp_allow_wasm"):
        directives["script-src"] += " 'wasm-unsafe-eval'"
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def init_security_headers(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", content_security_policy())
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=(), payment=()")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        personal = getattr(current_user, "is_authenticated", False) or g.get("personal_data")
        if personal and not request.path.startswith("/static/"):
            headers["Cache-Control"] = "no-store"
            headers.add("Vary", "Cookie")
        return response
