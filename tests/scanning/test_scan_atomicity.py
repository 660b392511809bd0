"""A scan and what it changes commit together or not at all, on PostgreSQL where the scan route
reads outside a transaction and begins one where it writes (``db.reads_outside_a_transaction``).
The database itself refuses the last write of each scan here (a trigger), as a full disk or a
broken constraint would; nothing the scan wrote before it may remain."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from tests.builders import make_enterprise, make_worker
from tests.scanning.builders import bearer, gate_setup, pass_token, post_scan
from tests.welfare.builders import make_pickup_point, make_pickup_staff
from wzcheckin import clock
from wzcheckin.enterprises.models import HealthAlert
from wzcheckin.scanning.models import Scan, ScanClaim
from wzcheckin.welfare.models import PackHandout, PickupPoint


@pytest.fixture
def postgres(db):
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL: its scans read outside a transaction")


@contextmanager
def refusing_inserts_into(db, table: str):
    """While inside: every INSERT into ``table`` fails in the database."""
    db.execute(sa.text("CREATE FUNCTION refuse_insert() RETURNS trigger LANGUAGE plpgsql AS "
                       "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$"))
    db.execute(sa.text(f"CREATE TRIGGER refuse_insert BEFORE INSERT ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION refuse_insert()"))
    db.commit()
    try:
        yield
    finally:
        db.rollback()
        db.execute(sa.text(f"DROP TRIGGER refuse_insert ON {table}"))
        db.execute(sa.text("DROP FUNCTION refuse_insert()"))
        db.commit()


def count(db, model, **where) -> int:
    db.rollback()
    return db.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**where))


def test_a_fever_scan_whose_alert_cannot_be_written_leaves_no_scan_and_no_claim(postgres, client, db, vault,
                                                                                 programme, keyring):
    _enterprise, _gate, gatekeeper, worker = gate_setup(db, vault, programme)
    headers = bearer(db, gatekeeper, clock.now())
    token = pass_token(worker, keyring, programme, clock.now())
    db.commit()
    fever = {"scan_id": "alert-refused-1", "mask": True, "temperature": 38.4}
    with refusing_inserts_into(db, "health_alerts"):
        assert post_scan(client, headers, token, **fever).status_code == 500
    assert count(db, Scan, scan_id="alert-refused-1") == count(db, ScanClaim, scan_id="alert-refused-1") == 0
    # Sent again once the database takes it: judged afresh, not a replay of a half-written scan.
    again = post_scan(client, headers, token, **fever).get_json()
    assert (again["result"], again["reason"], again["replayed"]) == ("rejected", "fever", False)
    assert count(db, HealthAlert, scan_id="alert-refused-1") == 1


def test_a_pickup_whose_scan_cannot_be_written_hands_out_no_pack(postgres, client, db, vault, programme, keyring):
    point = make_pickup_point(db, stock=3)
    staff = make_pickup_staff(db, vault, point)
    worker = make_worker(db, vault, programme, enterprise=make_enterprise(db, vault))
    headers = bearer(db, staff, clock.now())
    token = pass_token(worker, keyring, programme, clock.now())
    db.commit()
    with refusing_inserts_into(db, "scans"):
        assert post_scan(client, headers, token, scan_id="pickup-refused-1").status_code == 500
    assert count(db, PackHandout) == count(db, ScanClaim, scan_id="pickup-refused-1") == 0
    assert db.get(PickupPoint, point.id).stock == 3
    again = post_scan(client, headers, token, scan_id="pickup-refused-1").get_json()
    assert (again["result"], again["reason"], again["replayed"]) == ("accepted", "pack_handed_out", False)
    assert (count(db, PackHandout), db.get(PickupPoint, point.id).stock) == (1, 2)
