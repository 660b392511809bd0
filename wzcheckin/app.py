"""The app factory: ``create_app`` builds the app in named steps: configuration → programme file →
static files → extensions → database engine → the rooms (``rooms.ROOMS``: blueprints, menu, API routes, scan
handlers) → error handlers → command line.
"""

from __future__ import annotations

import logging
import weakref
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from wzcheckin import clock, scheduler
from wzcheckin.accounts.auth import init_login
from wzcheckin.api import api_bp
from wzcheckin.api import openapi as openapi_document  # noqa: F401 - its route: GET /api/v1/openapi.json
from wzcheckin.assets import init_page_etags, init_static_files
from wzcheckin.codes.keys import KeyringCache, keys_fingerprint_columns
from wzcheckin.commands import register_commands
from wzcheckin.config import MIGRATIONS_DIR, PACKAGE_DIR, STATIC_DIR, TEMPLATES_DIR, load_config
from wzcheckin.core.errors import init_error_handlers
from wzcheckin.core.i18n import select_locale
from wzcheckin.core.logs import configure_logging, init_request_ids
from wzcheckin.core.navigation import menu_items
from wzcheckin.core.personal_data import PersonalDataVault
from wzcheckin.core.routing import RowIdConverter
from wzcheckin.core.security import init_input_checks, init_security_headers
from wzcheckin.core.templating import init_templating
from wzcheckin.db import configure_engine, engine_options, render_migration_item
from wzcheckin.extensions import babel, compress, csrf, db, limiter, login_manager, migrate
from wzcheckin.programme import load_programme
from wzcheckin.reporting import REPORTING, init_reporting
from wzcheckin.rooms import ROOMS
from wzcheckin.scanning.partitions import include_in_autogenerate
from wzcheckin.scanning.services import install_scan_handlers

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
    _serve_static_files(app)
    _init_extensions(app)
    _add_page_etags(app)
    _register_rooms(app)
    _register_error_handlers(app)
    _register_cli(app)
    _register_template_helpers(app)
    _check_for_coroutines_once(app)
    if app.config["DEV_MODE"]:
        log.warning("WZCHECKIN_DEV=1: running with the public DEVELOPMENT keys; never do this in production")
    return app


def forget_inherited_connections(app: Flask) -> None:
    """In a process forked from one that built ``app`` (gunicorn's workers with ``preload_app``):
    empty every connection pool without closing what it holds, so no database connection is ever
    shared by two processes (SQLAlchemy, "Using Connection Pools with Multiprocessing or
    os.fork()"). ``create_app`` opens none, so this guards against a future change that does."""
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
    reporting = app.extensions.get(REPORTING)
    if reporting is not None:
        reporting.kw["bind"].dispose(close=False)


def _check_for_coroutines_once(app: Flask) -> None:
    """Flask asks ``inspect`` on every request whether the view and each hook is a coroutine
    function, nine times a scan (~2 % of its CPU); a function's answer never changes. Kept by
    weak reference: some hooks are closures made per request (``after_this_request``), and their
    answers go with them."""
    checked: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
    ensure_sync = app.ensure_sync

    def ensure_sync_once(func):
        try:
            synchronous = checked[func]
        except KeyError:
            synchronous = checked[func] = ensure_sync(func) is func  # a flag: never the function itself
        except TypeError:  # not weakly referable
            return ensure_sync(func)
        return func if synchronous else ensure_sync(func)

    ensure_sync_once.checked = checked  # for the test
    app.ensure_sync = ensure_sync_once


def _configure_logging(app: Flask) -> None:
    """Every log line carries its request's id (``X-Request-ID``, returned on every response)."""
    configure_logging()
    init_request_ids(app)


def _load_programme(app: Flask) -> None:
    # A bad programme file raises ProgrammeError naming the file and key: start-up stops here.
    app.extensions["wzcheckin.programme"] = load_programme(app.config["PROGRAMME_PATH"])


def _serve_static_files(app: Flask) -> None:
    """WhiteNoise in front of the app: hashed names, precompressed files (wzcheckin/assets.py).
    Before the extensions, so that a trusted proxy's ProxyFix wraps it too."""
    init_static_files(app)


def _add_page_etags(app: Flask) -> None:
    """After Flask-Compress and the security headers, so that it runs before them."""
    init_page_etags(app)


def _init_extensions(app: Flask) -> None:
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
    scheduler.init_app(app)  # the run log for the officials' pages; jobs run only in `wzcheckin scheduler`
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True,
                     compare_type=True, render_item=render_migration_item, include_name=include_in_autogenerate)

    login_manager.init_app(app)
    login_manager.session_protection = None  # the server-side session row is the protection
    csrf.init_app(app)
    # One catalogue (babel.cfg; README.md, "Translations"): pybabel extract, update, compile.
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(PACKAGE_DIR / "translations")
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
    # The signing keys' fingerprint rides with each bearer token (codes.context.current_keyring).
    init_login(app, login_manager, bearer_extra_columns=keys_fingerprint_columns())


def _register_rooms(app: Flask) -> None:
    """Every room of ``rooms.ROOMS``, in that order: its pages, its menu items, its API routes (on
    the API blueprint, registered after them) and its scan handlers."""
    app.url_map.converters["rowid"] = RowIdConverter  # before any rule is added
    app.extensions["wzcheckin.rooms"] = ROOMS
    for room in ROOMS:
        if room.blueprint is not None:
            app.register_blueprint(room.blueprint)
    # The menu's order is the rooms' order, then each room's own.
    app.extensions["wzcheckin.nav"] = menu_items(ROOMS)
    install_scan_handlers(ROOMS)
    app.register_blueprint(api_bp)


def _register_error_handlers(app: Flask) -> None:
    init_error_handlers(app)


def _register_cli(app: Flask) -> None:
    register_commands(app)


def _register_template_helpers(app: Flask) -> None:
    init_templating(app)
