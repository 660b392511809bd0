"""wzcheckin: the 留温过年 check-in and benefits tracker.

``create_app`` builds the app in named steps: configuration → programme file → extensions →
database engine → blueprints → error handlers → command line.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from flask import Flask

from wzcheckin.config import MIGRATIONS_DIR, PACKAGE_DIR, STATIC_DIR, TEMPLATES_DIR, load_config

log = logging.getLogger("wzcheckin")


def create_app(config: dict | None = None) -> Flask:
    settings = load_config(config)
    app = Flask(
        __name__,
        template_folder=str(TEMPLATES_DIR),
        static_folder=str(STATIC_DIR),
        instance_path=settings["INSTANCE_PATH"],
    )
    app.config.update(settings)
    _configure_logging(app)
    _load_programme(app)
    _init_extensions(app)
    _register_blueprints(app)
    _register_error_handlers(app)
    _register_cli(app)
    _register_template_helpers(app)
    if app.config["DEV_MODE"]:
        log.warning("WZCHECKIN_DEV=1: running with the public DEVELOPMENT keys; never do this in production")
    return app


def _configure_logging(app: Flask) -> None:
    """Every log line carries its request's id (``X-Request-ID``, returned on every response)."""
    from wzcheckin.core.logs import configure_logging, init_request_ids

    configure_logging()
    init_request_ids(app)


def _load_programme(app: Flask) -> None:
    from wzcheckin.programme import load_programme

    # A bad programme file raises ProgrammeError naming the file and key: start-up stops here.
    app.extensions["wzcheckin.programme"] = load_programme(app.config["PROGRAMME_PATH"])


def _init_extensions(app: Flask) -> None:
    from werkzeug.middleware.proxy_fix import ProxyFix

    from wzcheckin import clock
    from wzcheckin.codes.keys import KeyringCache
    from wzcheckin.core.i18n import select_locale
    from wzcheckin.core.personal_data import PersonalDataVault
    from wzcheckin.core.security import init_input_checks, init_security_headers
    from wzcheckin.db import configure_engine, engine_options, init_reporting, render_migration_item
    from wzcheckin.extensions import babel, compress, csrf, db, limiter, login_manager, migrate

    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    database_url = app.config["SQLALCHEMY_DATABASE_URI"]
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", engine_options(database_url))
    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine, lock_timeout=app.config["DB_LOCK_TIMEOUT_SECONDS"])
    init_reporting(app)
    from wzcheckin.scanning.partitions import include_in_autogenerate

    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True,
                     compare_type=True, render_item=render_migration_item, include_name=include_in_autogenerate)

    login_manager.init_app(app)
    login_manager.session_protection = None  # the server-side session row is the protection
    csrf.init_app(app)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(
        str(path) for path in sorted(PACKAGE_DIR.glob("**/translations")) if path.is_dir()
    ) or str(PACKAGE_DIR / "translations")
    babel.init_app(app, locale_selector=select_locale)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    # A moving window: "10 per minute" means any 60 s, so a burst straddling a minute boundary
    # cannot get 20 log-in attempts through as a fixed window would allow.
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    if app.config["RATELIMIT_STORAGE_URI"].startswith(("redis://", "rediss://")):
        # Redis that fails safely: a dead or frozen Redis must cost a request a quarter of a second,
        # never a gunicorn worker (redis-py waits for ever by default). While it is away, each
        # process counts in memory (limits stay, per process) and logs it; when it answers again,
        # counting moves back. The choice: keep limiting, never refuse service for Redis.
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_timeout": 0.25, "socket_connect_timeout": 0.25})
        app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
        app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter.init_app(app)
    compress.init_app(app)
    init_security_headers(app)
    init_input_checks(app)

    app.extensions["wzcheckin.clock"] = clock.clock_for(app.config)
    app.extensions["wzcheckin.vault"] = PersonalDataVault(app.config["DATA_KEYS"], app.config["LOOKUP_KEY"])
    app.extensions["wzcheckin.keyring"] = KeyringCache()

    from wzcheckin import models  # noqa: F401 - every table known to SQLAlchemy and Alembic
    from wzcheckin.core import auth  # noqa: F401 - registers the Flask-Login loaders


def _register_blueprints(app: Flask) -> None:
    """Every room's pages, API routes and scan handlers, found by convention (see rooms.py)."""
    from wzcheckin.api import api_bp
    from wzcheckin.core.routing import RowIdConverter
    from wzcheckin.rooms import room_modules

    app.url_map.converters["rowid"] = RowIdConverter  # before any rule is added
    nav_items = []
    for views in room_modules("views"):
        app.register_blueprint(views.bp)
        nav_items.extend(getattr(views, "NAV_ITEMS", []))
    app.extensions["wzcheckin.nav"] = sorted(nav_items, key=lambda item: item.order)
    importlib.import_module("wzcheckin.api.openapi")
    room_modules("api")
    room_modules("scan_handlers")
    app.register_blueprint(api_bp)


def _register_error_handlers(app: Flask) -> None:
    from wzcheckin.core.errors import init_error_handlers

    init_error_handlers(app)


def _register_cli(app: Flask) -> None:
    from wzcheckin.cli import register_commands

    register_commands(app)


def _register_template_helpers(app: Flask) -> None:
    from wzcheckin.core.templating import init_templating

    init_templating(app)
