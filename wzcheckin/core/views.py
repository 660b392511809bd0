"""Pages that belong to no room: the landing page, the language switch, health check, manifest."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from wzcheckin import clock
from wzcheckin.core import context
from wzcheckin.core.auth import public
from wzcheckin.core.errors import log_outage, outage_headers, outage_message, stop_using_database
from wzcheckin.core.health import record_heartbeat
from wzcheckin.core.i18n import LANGUAGE_COOKIE, SUPPORTED_LOCALES
from wzcheckin.core.navigation import role_home_url, safe_next_url
from wzcheckin.db import database_outage, unit_of_work
from wzcheckin.extensions import db

bp = Blueprint("core", __name__)


@bp.get("/")
@public
def index():
    if current_user.is_authenticated:
        return redirect(role_home_url(current_user.role))
    return render_template("core/index.html")


@bp.get("/lang/<code>")
@public
def switch_language(code: str):
    target = safe_next_url(request.args.get("next")) or url_for("core.index")
    response = make_response(redirect(target))
    if code in SUPPORTED_LOCALES:
        response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True)
    return response


@bp.get("/healthz")
@public
def health():
    """200 when the database takes a committed write; 503 JSON with the outage's code and
    ``Retry-After`` when it cannot (down, locked past the wait, disk full, read-only). Says so
    when this process saw the server's clock go backwards."""
    try:
        with unit_of_work(db.session) as session:
            record_heartbeat(session, clock.now())
    except Exception as exc:
        code = database_outage(exc)
        if code is None:
            raise
        stop_using_database()
        log_outage(code, exc)
        response = jsonify(status="unavailable", error={"code": code, "message": outage_message(code)})
        response.status_code = 503
        response.headers.update(outage_headers(code))
        return response
    body = {"status": "ok"}
    jump = clock.backwards_jump()
    if jump is not None:  # this process saw the server's time go back (see clock.py)
        body["clock_went_back"] = {"to": jump.to.isoformat(), "by_seconds": round(jump.by.total_seconds(), 1)}
    return jsonify(body)


@bp.get("/manifest.webmanifest")
@public
def manifest():
    programme = context.programme()
    body = {
        "name": programme.programme.name,
        "short_name": "留温过年",
        "start_url": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#c8102e",
        "lang": "zh-CN",
        "icons": [
            {"src": url_for("static", filename="icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": url_for("static", filename="icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
        ],
    }
    response = jsonify(body)
    response.mimetype = "application/manifest+json"
    return response
