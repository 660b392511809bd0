"""A synthetic city for the cutoff benchmark, generated inside the database (no Python loop per
row): workers spread over enterprises, and ~30 accepted staff scans each across January 31 –
March 1, with every seventh worker missing the holiday window and every twentieth unpledged, so
the cutoff exercises its reasons. Personal-data columns hold placeholders: the cutoff never
decrypts them."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from bench import world
from wzcheckin.accounts.facts import record_worker_facts_bulk
from wzcheckin.accounts.models import Worker
from wzcheckin.core.roles import Role
from wzcheckin.scanning.models import Checkpoint


def _series(dialect: str, name: str, first: int, last: int) -> str:
    if dialect == "postgresql":
        return f"generate_series({first}, {last}) AS {name}(x)"
    return f"(WITH RECURSIVE s(x) AS (SELECT {first} UNION ALL SELECT x + 1 FROM s WHERE x < {last}) SELECT x FROM s) AS {name}"


# Everyone registered before the holiday: the cutoff counts only workers and enterprises
# registered before its instant (28 February 2021).
REGISTERED = datetime(2021, 1, 20, 2, 0, tzinfo=UTC)


def build_city(session, vault, workers: int, scans_per_worker: int = 30, enterprises: int = 200,
               progress=lambda message: None) -> dict:
    now = REGISTERED
    dialect = session.get_bind().dialect.name
    enterprise_ids = []
    for n in range(1, enterprises + 1):
        enterprise_ids.append(world.add_enterprise(session, vault, 10_000 + n, now).id)
    session.commit()
    gate = session.scalar(sa.select(Checkpoint).where(Checkpoint.kind == "gate").order_by(Checkpoint.id))
    staff = world.staff_token(session, vault, Role.GATEKEEPER, gate, now, 99)
    session.commit()
    staff_id = session.execute(sa.text("SELECT max(id) FROM users")).scalar()
    first_enterprise = min(enterprise_ids)
    stamp = ("TIMESTAMPTZ '2021-01-20 02:00:00+00'" if dialect == "postgresql" else "'2021-01-20 02:00:00.000000'")
    progress(f"  {workers} users…")
    session.execute(sa.text(
        "INSERT INTO users (role, phone_hash, phone_encrypted, phone_masked, display_name, failed_logins, created_at) "
        f"SELECT 'worker', 'city-' || x, 'placeholder', '139****0000', '', 0, {stamp} FROM {_series(dialect, 'g', 1, workers)}"))
    session.commit()
    progress(f"  {workers} workers…")
    hex_id = "lpad(to_hex(u.id), 16, '0')" if dialect == "postgresql" else "printf('%016x', u.id)"
    permit_date = "DATE '2022-06-30'" if dialect == "postgresql" else "'2022-06-30'"
    session.execute(sa.text(
        "INSERT INTO workers (user_id, public_id, name, id_number_hash, id_number_encrypted, id_number_tail, hukou, "
        "hukou_status, residence_permit_no_encrypted, residence_permit_expiry, pledged_at, enterprise_id, "
        "employment_confirmed, employment_confirmed_at, registered_via, created_at, updated_at) "
        f"SELECT u.id, {hex_id}, '压测', 'city-id-' || u.id, 'placeholder', '0000', '', "
        "CASE WHEN u.id % 50 = 0 THEN 'home' ELSE 'non_local' END, "
        f"CASE WHEN u.id % 3 = 0 THEN 'placeholder' END, CASE WHEN u.id % 3 = 0 THEN {permit_date} END, "
        f"CASE WHEN u.id % 20 <> 0 THEN {stamp} END, {first_enterprise} + (u.id % {enterprises}), "
        f"(u.id % 10 <> 0), {stamp}, 'roster', {stamp}, {stamp} "
        "FROM users u WHERE u.phone_hash LIKE 'city-%' ORDER BY u.id"))  # same ids on both databases
    session.commit()
    progress(f"  {workers} workers' facts…")
    record_worker_facts_bulk(session, sa.select(Worker.id), now=now, source="bench")
    session.commit()
    if dialect == "postgresql":
        # The scans table is partitioned by month (migration 0011): make January–March 2021 as
        # the scheduler's job would have, so the scans land in their months, not the default.
        from wzcheckin.scanning.partitions import ensure_scan_partitions

        ensure_scan_partitions(session, datetime(2021, 1, 1, tzinfo=UTC), months_ahead=2)
        session.commit()
    progress(f"  ~{workers * scans_per_worker} scans…")
    if dialect == "postgresql":
        at = "TIMESTAMPTZ '2021-01-31 01:00:00+00' + d.x * INTERVAL '1 day' + (w.id % 600) * INTERVAL '1 minute'"
    else:
        at = ("strftime('%Y-%m-%d %H:%M:%S', '2021-01-31 01:00:00', '+' || d.x || ' days', "
              "'+' || (w.id % 600) || ' minutes') || '.000000'")
    session.execute(sa.text(
        "INSERT INTO scans (scan_id, checkpoint_id, staff_user_id, scanned_at, received_at, worker_id, result, reason, "
        "is_evidence) "
        f"SELECT 'c' || w.id || '-' || d.x, {gate.id}, {staff_id}, {at}, {at}, w.id, 'accepted', 'entry_allowed', "
        f"{'TRUE' if dialect == 'postgresql' else '1'} "
        f"FROM workers w CROSS JOIN {_series(dialect, 'd', 0, scans_per_worker - 1)} "
        "WHERE w.public_id <> '' AND NOT (w.id % 7 = 0 AND d.x BETWEEN 11 AND 17)"))
    session.commit()
    if dialect == "postgresql":
        session.execute(sa.text("ANALYZE"))
        session.commit()
    scans = session.execute(sa.text("SELECT count(*) FROM scans")).scalar()
    return {"workers": workers, "scans": scans, "enterprises": enterprises, "staff_token": staff}
