"""On PostgreSQL the scans table is partitioned by month (migration 0011) and the scheduler's job
creates the months ahead; a scan of a month without a partition waits in the default partition
and moves into its month when the month is made. On SQLite the job does nothing."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.support.clock import at
from wzcheckin.scanning.partitions import ensure_scan_partitions

STAMP = "2021-01-20 02:00:00+00"


def _scan_in_august(session: Session) -> None:
    user_id = session.execute(sa.text(
        "INSERT INTO users (role, phone_hash, phone_encrypted, phone_masked, display_name, failed_logins, created_at) "
        "VALUES ('gatekeeper', 'h', 'x', '137****0000', '', 0, :t) RETURNING id"), {"t": STAMP}).scalar()
    checkpoint_id = session.execute(sa.text(
        "INSERT INTO checkpoints (ref, kind, code, name, district, created_at) "
        "VALUES ('gate:X', 'gate', 'X', 'X', '', :t) RETURNING id"), {"t": STAMP}).scalar()
    session.execute(sa.text(
        "INSERT INTO scans (scan_id, checkpoint_id, staff_user_id, scanned_at, received_at, result, reason, "
        "is_evidence, late_upload) VALUES ('august-scan', :c, :u, :t, :t, 'accepted', 'entry_allowed', TRUE, FALSE)"),
        {"c": checkpoint_id, "u": user_id, "t": "2021-08-10 01:00:00+00"})


def _partition_of(session: Session, scan_id: str) -> str:
    return session.execute(sa.text("SELECT tableoid::regclass::text FROM scans WHERE scan_id = :s"),
                           {"s": scan_id}).scalar()


def test_the_job_creates_this_month_and_the_next_three_once(backend, fresh_database):
    engine = sa.create_engine(fresh_database)
    try:
        with Session(engine) as session:
            created = ensure_scan_partitions(session, at("2021-02-05 09:00"))
            session.commit()
            again = ensure_scan_partitions(session, at("2021-02-20 09:00"))
            session.commit()
    finally:
        engine.dispose()
    if backend == "sqlite":
        assert created == [] and again == []  # one plain table: nothing to make
        return
    assert created == ["scans_y2021m02", "scans_y2021m03", "scans_y2021m04", "scans_y2021m05"]
    assert again == []


def test_a_scan_waiting_in_the_default_partition_moves_into_its_new_month(backend, fresh_database):
    if backend != "postgresql":
        return  # SQLite: no partitions (the test above shows the job is a no-op there)
    engine = sa.create_engine(fresh_database)
    try:
        with Session(engine) as session:
            _scan_in_august(session)
            session.commit()
            assert _partition_of(session, "august-scan") == "scans_default"
            created = ensure_scan_partitions(session, at("2021-07-15 09:00"))
            session.commit()
            assert "scans_y2021m08" in created
            assert _partition_of(session, "august-scan") == "scans_y2021m08"
            assert session.execute(sa.text("SELECT count(*) FROM scans")).scalar() == 1
    finally:
        engine.dispose()
