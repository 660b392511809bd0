"""Scaling out: with WZCHECKIN_REPORTING_DATABASE_URL set, the dashboard and exports read from
that database (a read replica), while the audit entry of an export is written to the primary."""

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.builders import make_user, make_worker
from tests.support.config import TEST_CONFIG
from tests.support.web import csrf_token_from
from wzcheckin.core.models import AuditEntry
from wzcheckin.core.roles import Role
from wzcheckin.db import Base


def test_dashboard_reads_the_replica_and_audits_on_the_primary(tmp_path):
    from wzcheckin import create_app
    from wzcheckin.accounts.sessions import start_session
    from wzcheckin.codes.keys import create_signing_key

    primary_url, replica_url = f"sqlite:///{tmp_path}/primary.db", f"sqlite:///{tmp_path}/replica.db"
    app = create_app({**TEST_CONFIG, "DATABASE_URL": primary_url, "SQLALCHEMY_DATABASE_URI": primary_url,
                      "REPORTING_DATABASE_URL": replica_url})
    vault, programme = app.extensions["wzcheckin.vault"], app.extensions["wzcheckin.programme"]
    engines = {name: sa.create_engine(url) for name, url in (("primary", primary_url), ("replica", replica_url))}
    for engine in engines.values():
        Base.metadata.create_all(engine)
    with Session(engines["replica"]) as replica:  # three registrations only the replica has
        for _ in range(3):
            make_worker(replica, vault, programme)
        replica.commit()
    with Session(engines["primary"]) as primary:
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        create_signing_key(primary, vault, now)
        official = make_user(primary, vault, Role.OFFICIAL)
        secret = start_session(primary, official, now)
        primary.commit()
    client = app.test_client()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = secret

    page = client.get("/admin")
    assert page.status_code == 200
    import re

    registered = re.search(r'kpi-value">([\d,]+)</span><span class="kpi-label">[^<]*</span></div>', page.text)
    assert registered is not None and registered.group(1) == "3"  # the replica's workers; the primary has none

    exports = client.get("/admin/exports")
    response = client.post("/admin/exports/registrations-by-enterprise",
                           data={"csrf_token": csrf_token_from(exports.text), "format": "csv"})
    assert response.status_code == 200
    response.get_data()  # stream it to the end
    with Session(engines["primary"]) as primary, Session(engines["replica"]) as replica:
        assert primary.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action.like("admin.export%"))) == 1
        assert replica.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0
    for engine in engines.values():
        engine.dispose()
