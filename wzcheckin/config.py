"""Configuration: everything comes from ``WZCHECKIN_*`` environment variables (SPEC §6).

Secrets are required outside development and tests. ``WZCHECKIN_DEV=1`` switches on the
development keys below, which are public (they are in this file) and therefore only fit a
laptop running the demo; the app shows a banner and logs a warning whenever they are in use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
DEFAULT_PROGRAMME = PACKAGE_DIR / "programmes" / "wenzhou-2021.toml"


def shipped_folder(name: str) -> Path:
    """``templates``, ``static`` or ``migrations``: at the top of a checkout (the design card's
    layout), inside the package once installed from a wheel (setup.py maps them there).

    The package is asked first: that folder exists only in an installed wheel, whereas the
    directory above an installed package is site-packages, where another distribution may have
    left a top-level folder of the same name.
    """
    installed = PACKAGE_DIR / name
    return installed if installed.is_dir() else PROJECT_ROOT / name


TEMPLATES_DIR = shipped_folder("templates")
STATIC_DIR = shipped_folder("static")
MIGRATIONS_DIR = shipped_folder("migrations")

# DEVELOPMENT ONLY. Committed on purpose so `wzcheckin demo` runs on a fresh clone; never valid
# in production because the app refuses to start with them unless WZCHECKIN_DEV=1.
DEV_SECRET_KEY = "DEVELOPMENT-ONLY-secret-key-do-not-use-in-production"  # noqa: S105 - public on purpose
DEV_DATA_KEYS = "REVWRUxPUE1FTlQtT05MWS1kYXRhLWtleS0wMDAwMDA="  # base64 of a marked 32-byte string
DEV_LOOKUP_KEY = "DEVELOPMENT-ONLY-lookup-key-do-not-use-in-production"


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app; the message names the variable."""


@dataclass(frozen=True)
class EnvSetting:
    name: str
    required_in_production: bool
    dev_default: str | None = None


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def load_config(overrides: dict | None = None, environ: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment plus explicit overrides.

    ``overrides`` (used by tests and by ``create_app(config=...)``) win over the environment.
    """
    env = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    dev_mode = bool(overrides.get("DEV_MODE", _truthy(env.get("WZCHECKIN_DEV"))))
    testing = bool(overrides.get("TESTING", False))

    def setting(var: str, key: str, dev_default: str | None) -> str:
        if key in overrides:
            return overrides[key]
        value = env.get(var)
        if value:
            return value
        if (dev_mode or testing) and dev_default is not None:
            return dev_default
        raise ConfigError(
            f"{var} is not set. Set it in the environment (see README, 'Configuration'); "
            "for a local demo only, WZCHECKIN_DEV=1 uses the public development keys."
        )

    instance_path = overrides.get("INSTANCE_PATH") or env.get("WZCHECKIN_INSTANCE_PATH") or str(
        PROJECT_ROOT / "instance"
    )
    default_db = f"sqlite:///{Path(instance_path) / 'wzcheckin.sqlite3'}"
    database_url = overrides.get("DATABASE_URL") or env.get("WZCHECKIN_DATABASE_URL") or default_db
    https = overrides.get("HTTPS", not (dev_mode or testing) and not _truthy(env.get("WZCHECKIN_INSECURE_HTTP")))

    config = {
        "DEV_MODE": dev_mode,
        "TESTING": testing,
        "INSTANCE_PATH": instance_path,
        "DATABASE_URL": database_url,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": setting("WZCHECKIN_SECRET_KEY", "SECRET_KEY", DEV_SECRET_KEY),
        # Comma-separated Fernet keys; the first encrypts, all decrypt (key rotation).
        "DATA_KEYS": setting("WZCHECKIN_DATA_KEYS", "DATA_KEYS", DEV_DATA_KEYS),
        # HMAC key of the look-up hashes of ID and phone numbers. Never rotated: the hashes are
        # the uniqueness keys; rotating it means re-hashing every row from the decrypted values.
        "LOOKUP_KEY": setting("WZCHECKIN_LOOKUP_KEY", "LOOKUP_KEY", DEV_LOOKUP_KEY),
        "PROGRAMME_PATH": overrides.get("PROGRAMME_PATH")
        or env.get("WZCHECKIN_PROGRAMME")
        or str(DEFAULT_PROGRAMME),
        # Optional read replica for the officials' dashboards and exports (reads only).
        "REPORTING_DATABASE_URL": overrides.get("REPORTING_DATABASE_URL") or env.get("WZCHECKIN_REPORTING_DATABASE_URL"),
        "RATELIMIT_STORAGE_URI": overrides.get("RATELIMIT_STORAGE_URI")
        or env.get("WZCHECKIN_RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": overrides.get("RATELIMIT_ENABLED", not _truthy(env.get("WZCHECKIN_RATELIMIT_DISABLED"))),
        "TRUSTED_PROXIES": int(overrides.get("TRUSTED_PROXIES", env.get("WZCHECKIN_TRUSTED_PROXIES", "0"))),
        "SIMULATED_CLOCK_FILE": overrides.get("SIMULATED_CLOCK_FILE")
        or env.get("WZCHECKIN_SIMULATED_CLOCK_FILE"),
        # Hashed, precompressed static files, written by `wzcheckin assets build` (wzcheckin/assets.py).
        "STATIC_BUILD_DIR": overrides.get("STATIC_BUILD_DIR") or env.get("WZCHECKIN_STATIC_BUILD_DIR")
        or str(Path(instance_path) / "static"),
        "SMS_GATEWAY": overrides.get("SMS_GATEWAY") or env.get("WZCHECKIN_SMS_GATEWAY", "outbox"),
        "HTTPS": bool(https),
        # Flask and extensions
        "SESSION_COOKIE_NAME": "wzc_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": bool(https),
        "REMEMBER_COOKIE_SECURE": bool(https),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session does
        "SQLALCHEMY_TRACK_MODIFICATIONS": False,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "COMPRESS_MIMETYPES": [
            "text/html", "text/css", "application/javascript", "text/javascript",
            "application/json", "image/svg+xml", "application/manifest+json", "application/wasm",
        ],
        # Staff sessions end after this idle time and after this absolute age (ASVS V7).
        "STAFF_IDLE_TIMEOUT_MINUTES": int(env.get("WZCHECKIN_STAFF_IDLE_MINUTES", "30")),
        "STAFF_ABSOLUTE_TIMEOUT_HOURS": int(env.get("WZCHECKIN_STAFF_ABSOLUTE_HOURS", "12")),
        "WORKER_SESSION_DAYS": int(env.get("WZCHECKIN_WORKER_SESSION_DAYS", "30")),
        # A SQLite writer waits this long for the write lock, then the request is answered 503
        # database_busy (keep it well under gunicorn's --timeout).
        "DB_LOCK_TIMEOUT_SECONDS": float(env.get("WZCHECKIN_DB_LOCK_TIMEOUT_SECONDS", "10")),
        # A database outage is logged once per kind per this many seconds (per process).
        "OUTAGE_LOG_INTERVAL_SECONDS": float(env.get("WZCHECKIN_OUTAGE_LOG_INTERVAL_SECONDS", "60")),
    }
    if config["SIMULATED_CLOCK_FILE"] and not (dev_mode or testing):
        raise ConfigError(
            "WZCHECKIN_SIMULATED_CLOCK_FILE is only allowed with WZCHECKIN_DEV=1 or in tests."
        )
    config.update(overrides)
    return config
