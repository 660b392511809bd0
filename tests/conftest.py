"""Test fixtures. Everything is real: a SQLite file, a PostgreSQL cluster started for the run, a
gunicorn server for concurrency tests, headless Chromium for browser tests.

Tests that take the ``app`` (or ``db``, ``client``...) fixture run once per database backend:
``--backends sqlite,postgresql`` (default: both). ``WZCHECKIN_REQUIRE_POSTGRES=1`` (set by CI)
turns a missing PostgreSQL into a failure instead of a skip; likewise
``WZCHECKIN_REQUIRE_BROWSER=1`` for Chromium.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support import clock, servers, web
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.cli import run_cli
from tests.support.config import ARTIFACTS, TEST_CONFIG
from tests.support.postgres import PostgresUnavailable, TemporaryCluster, create_database
from tests.support.servers import GunicornServer

# Shared helpers live in tests.support. These names stay importable from here only so that a test
# written against the old layout still resolves; new code imports them from tests.support.
at, ROOT, csrf_token_from = clock.at, servers.ROOT, web.csrf_token_from


def pytest_addoption(parser):
    parser.addoption("--backends", default=os.environ.get("WZCHECKIN_TEST_BACKENDS", "sqlite,postgresql"),
                     help="comma-separated database backends to run DB tests on")


def _required(name: str) -> bool:
    return os.environ.get(name, "") in {"1", "true", "yes"}


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        backends = [b.strip() for b in metafunc.config.getoption("--backends").split(",") if b.strip()]
        if metafunc.definition.get_closest_marker("browser"):
            backends = _browser_backend(metafunc.definition, backends)
        metafunc.parametrize("backend", backends, scope="session")


def _browser_backend(definition, backends: list[str]) -> list[str]:
    """A browser test runs on one database: it checks what a phone shows and does, while what the
    database does behind those pages (constraints, locks, races, outages) is tested on every
    backend by the domain, HTTP and gunicorn tests. PostgreSQL, as deployed, unless the test is
    marked ``on_backend("sqlite")`` (the demo's database); the first of ``--backends`` when the
    preferred one is not among them."""
    marker = definition.get_closest_marker("on_backend")
    preferred = marker.args[0] if marker else "postgresql"
    return [preferred] if preferred in backends else backends[:1]


def pytest_collection_modifyitems(config, items):
    """The long tests first (browser, gunicorn, slow): with one worker per core, work-stealing then
    ends the run on short tests instead of one worker finishing a 40-s crawl alone. A stable sort,
    so each worker collects the same order, as pytest-xdist requires."""
    def long_first(item) -> int:
        return 0 if any(item.get_closest_marker(name) for name in ("browser", "server", "slow")) else 1

    items.sort(key=long_first)


# --- PostgreSQL ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def postgres_admin_url():
    url = os.environ.get("WZCHECKIN_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    try:
        cluster = TemporaryCluster()
        url = cluster.start()
    except (PostgresUnavailable, OSError, Exception) as exc:
        if _required("WZCHECKIN_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required but could not start: {exc}")
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    yield url
    cluster.stop()


_database_counter = iter(range(1, 10_000))


@pytest.fixture(scope="session")
def new_database_url(tmp_path_factory, request):
    """A factory for fresh databases of a backend: ``new_database_url(backend)``, empty, or
    ``new_database_url(backend, copy_of=url)``, a copy of a database nobody is connected to."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")

    def make(backend: str, copy_of: str | None = None) -> str:
        number = next(_database_counter)
        if backend == "sqlite":
            path = tmp_path_factory.mktemp("db") / f"wzcheckin-{number}.sqlite3"
            if copy_of:
                source = copy_of.removeprefix("sqlite:///")
                for suffix in ("", "-wal"):  # a closed WAL database may still have its log
                    if Path(source + suffix).exists():
                        shutil.copyfile(source + suffix, f"{path}{suffix}")
            return f"sqlite:///{path}"
        if backend == "postgresql":
            admin_url = request.getfixturevalue("postgres_admin_url")
            template = copy_of.rsplit("/", 1)[1] if copy_of else None
            return create_database(admin_url, f"wzcheckin_{worker}_{number}", template=template)
        raise ValueError(backend)

    return make


# --- the app ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def app(backend, new_database_url):
    """One app per backend for the whole run; tables are emptied after each test."""
    from wzcheckin import create_app
    from wzcheckin.extensions import db as _db

    url = new_database_url(backend)
    application = create_app({**TEST_CONFIG, "DATABASE_URL": url, "SQLALCHEMY_DATABASE_URI": url})
    with application.app_context():
        _db.create_all()  # tests only; the app itself migrates with Alembic (see test_migrations)
    yield application
    with application.app_context():
        _db.engine.dispose()


def _empty_all_tables(db) -> None:
    """Empty the tables the test wrote to, as if the database were new.

    One query finds the tables that hold rows; only those are emptied, children first, with DELETE
    (a TRUNCATE of all tables cost 60-200 ms a test on PostgreSQL and waited for an ACCESS
    EXCLUSIVE lock behind any connection a test left open). Sequences that were used start at 1
    again, as TRUNCATE … RESTART IDENTITY did."""
    from wzcheckin.db import Base

    tables = list(reversed(Base.metadata.sorted_tables))
    probe = " UNION ALL ".join(
        f'SELECT {index} WHERE EXISTS (SELECT 1 FROM "{table.name}")' for index, table in enumerate(tables))
    with db.engine.begin() as connection:
        written = {row[0] for row in connection.execute(sa.text(probe))}
        for index, table in enumerate(tables):
            if index in written:
                connection.execute(table.delete())
        if connection.dialect.name == "postgresql":
            used = connection.execute(sa.text(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences"
                " WHERE last_value IS NOT NULL")).scalars().all()
            if used:
                connection.execute(sa.text(
                    "SELECT " + ", ".join(f"setval('{name}', 1, false)" for name in used)))


@pytest.fixture
def db(app):
    """A session of the test's own, like a second process would have.

    No app context stays pushed during the test, so each request gets its own context (and
    ``g``), as in production. Commit before making a request; call ``db.rollback()`` before
    reading what a request wrote. Tables are emptied afterwards.
    """
    from sqlalchemy.orm import Session

    from wzcheckin import clock
    from wzcheckin.codes.keys import create_signing_key
    from wzcheckin.core import context
    from wzcheckin.extensions import db as _db
    from wzcheckin.extensions import limiter

    with app.app_context():
        engine = _db.engine
        vault = context.vault()
    session = Session(bind=engine)
    create_signing_key(session, vault, clock.now())
    session.commit()
    app.extensions["wzcheckin.keyring"].invalidate()
    yield session
    session.rollback()
    session.close()
    with app.app_context():
        _db.session.remove()
        _empty_all_tables(_db)
        limiter.reset()
    app.extensions["wzcheckin.keyring"].invalidate()


@pytest.fixture
def vault(app):
    return app.extensions["wzcheckin.vault"]


@pytest.fixture
def programme(app):
    return app.extensions["wzcheckin.programme"]


@pytest.fixture
def keyring(app, db):
    from wzcheckin.codes.keys import load_keyring

    return load_keyring(db, app.extensions["wzcheckin.vault"])


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def runner(app, db):
    return app.test_cli_runner()


@pytest.fixture
def login_as(app, db, client):
    """Log a user in on ``client`` by creating a real server-side session for them."""
    from wzcheckin import clock
    from wzcheckin.accounts.sessions import start_session

    def login(user):
        secret = start_session(db, user, clock.now())
        db.commit()
        with client.session_transaction() as session:
            session["_user_id"] = secret
            session["_fresh"] = True
        return client

    return login


# --- servers and browsers -----------------------------------------------------------------------

@pytest.fixture(scope="session")
def migrated_database(backend, new_database_url):
    """One database per backend migrated with the real ``wzcheckin init`` (in-process), never
    used itself: ``fresh_database`` copies it (no connection is left open on it)."""
    url = new_database_url(backend)
    run_cli(url, "init")
    return url


@pytest.fixture
def fresh_database(backend, new_database_url, migrated_database):
    """A new database of the backend as ``wzcheckin init`` leaves it (schema and first signing
    key): a copy of ``migrated_database``, cheaper than migrating each one."""
    return new_database_url(backend, copy_of=migrated_database)


@pytest.fixture
def gunicorn_server(fresh_database, tmp_path):
    servers = []

    def start(**kwargs) -> GunicornServer:
        ARTIFACTS.mkdir(exist_ok=True)
        server = GunicornServer(fresh_database, log_path=tmp_path / "gunicorn.log", **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server_app(fresh_database):
    """An app object on the same database as ``gunicorn_server``, to seed data and read results."""
    from wzcheckin import create_app
    from wzcheckin.extensions import db as _db

    application = create_app({**TEST_CONFIG, "DATABASE_URL": fresh_database,
                              "SQLALCHEMY_DATABASE_URI": fresh_database})
    with application.app_context():
        yield application
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        if _required("WZCHECKIN_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required (apt-get install chromium) but not installed")
        pytest.skip("Chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def phone_page(browser):
    """A page on a 360×740 phone viewport, Chinese locale."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()
