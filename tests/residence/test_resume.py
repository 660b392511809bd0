"""A cutoff run killed midway (SIGKILL, as a power cut) resumes where it stopped, and the result
is byte for byte what a run never interrupted gives; nothing is awarded or sent twice."""

import json
import os
import signal
import time

import sqlalchemy as sa

from tests.residence.builders import bulk_workers, make_site
from tests.residence.conftest import start_wzcheckin, wzcheckin
from wzcheckin.benefits.models import PointsEntry
from wzcheckin.residence.models import SmsMessage, Snapshot, SnapshotPhase


def test_a_run_killed_midway_resumes_to_the_same_snapshot(db, vault, database_url, clock_file, tmp_path):
    sites = [make_site(db, vault, name=f"企业{n}") for n in range(4)]
    for n, site in enumerate(sites):
        bulk_workers(db, vault, site, 60 + 30 * n, permit=n % 2 == 0)
        bulk_workers(db, vault, site, 20, windows=(1, 2))
        bulk_workers(db, vault, site, 10, pledged=False, permit=True)
    db.commit()
    expected_points = sum(60 + 30 * n for n in range(4) if n % 2 == 0)

    # Chunks of 5 workers: the run commits about a hundred steps, so the kill lands inside it.
    process = start_wzcheckin(database_url, "cutoff", "run", "--chunk-size", "5", clock_file=clock_file,
                              log_path=tmp_path / "killed.log")
    engine = sa.create_engine(database_url)
    deadline = time.monotonic() + 120
    progress = 0
    try:
        while time.monotonic() < deadline and process.poll() is None:
            with engine.connect() as connection:
                progress = connection.execute(sa.select(Snapshot.progress_worker_id)).scalar() or 0
            if progress > 0:
                break
            time.sleep(0.01)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        with engine.connect() as connection:
            phase = connection.execute(sa.select(Snapshot.phase)).scalar()
    finally:
        engine.dispose()
    assert progress > 0, "the run was not seen writing"
    assert phase == SnapshotPhase.STATUSES.value, f"killed too late (phase {phase}): the test proved nothing"

    resumed = json.loads(wzcheckin(database_url, "cutoff", "run", clock_file=clock_file).stdout.splitlines()[-1])
    assert resumed["resumed"] and resumed["workers"]["total"] == 4 * 30 + sum(60 + 30 * n for n in range(4))
    report_after_kill = wzcheckin(database_url, "report", "headcounts", clock_file=clock_file).stdout

    # A clean run of the same world: drop the snapshot and confirm again from scratch.
    db.execute(sa.delete(Snapshot))
    db.commit()
    clean = json.loads(wzcheckin(database_url, "cutoff", "run", clock_file=clock_file).stdout.splitlines()[-1])
    assert not clean["resumed"] and clean["this_run"]["points_awarded"] == 0
    assert {k: clean[k] for k in ("workers", "enterprises", "total_amount_yuan")} == \
        {k: resumed[k] for k in ("workers", "enterprises", "total_amount_yuan")}
    assert wzcheckin(database_url, "report", "headcounts", clock_file=clock_file).stdout == report_after_kill
    assert db.scalar(sa.select(sa.func.count()).select_from(PointsEntry)) == expected_points
    assert db.scalar(sa.select(sa.func.count(sa.distinct(PointsEntry.worker_id)))) == expected_points
    assert db.scalar(sa.select(sa.func.count()).select_from(SmsMessage)) == 4   # 60/90/120/150 retained: all qualify
