"""Schema changes only through Alembic: an empty database upgrades to head, and the models
match the migrations exactly (no pending autogenerate diff).

The first test is the suite's one smoke test of the ``wzcheckin`` entry point as a process of its
own, started outside the checkout (migrations are found from the package, not the working
directory); every other command-line test runs the commands in-process."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.support.cli import run_cli, run_cli_process
from wzcheckin.db import Base
from wzcheckin.scanning.partitions import include_in_autogenerate


def test_empty_database_upgrades_to_head_and_matches_the_models(backend, new_database_url, tmp_path):
    import wzcheckin.models  # noqa: F401 - the whole schema

    url = new_database_url(backend)
    result = run_cli_process(url, "init", cwd=tmp_path)
    assert '"database": "ready"' in result.stdout.splitlines()[-1]
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        # The monthly partitions of scans (PostgreSQL) are made by migration 0011 and the scheduler.
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "include_name": include_in_autogenerate})
        diff = compare_metadata(context, Base.metadata)
        tables = set(sa.inspect(connection).get_table_names())
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"
    assert {"users", "workers", "enterprises", "checkpoints", "scans", "signing_keys", "audit_log"} <= tables


def test_init_twice_is_harmless(backend, new_database_url):
    url = new_database_url(backend)
    first = run_cli(url, "init").stdout.splitlines()[-1]
    second = run_cli(url, "init").stdout.splitlines()[-1]
    assert '"signing_key_created": true' in first
    assert '"signing_key_created": false' in second


def test_the_app_never_creates_tables_itself():
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "wzcheckin"
    offenders = [str(p) for p in package.rglob("*.py") if "create_all(" in p.read_text(encoding="utf-8")]
    assert offenders == []
