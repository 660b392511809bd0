"""Facts frozen at the cutoff (SPEC §3, issue 12): the money is decided from the facts as they
stood at the cutoff instant. A roster re-import, an ownership change or a corrected hukou made
afterwards never changes what a recomputation of that instant gives — the report is the same,
byte for byte. Later facts reach a decision only through a numbered correction."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from tests.builders import make_credit_code, make_phone, make_unique_id_number, make_user
from tests.residence.builders import add_scan
from tests.support.clock import at
from wzcheckin.accounts.importer import import_workers
from wzcheckin.accounts.models import Worker
from wzcheckin.core.roles import Role
from wzcheckin.enterprises.models import Enterprise
from wzcheckin.enterprises.services import import_enterprises
from wzcheckin.residence.confirmation import STATUS_COLUMNS, rules_for, status_select
from wzcheckin.residence.cutoff import run_snapshot
from wzcheckin.residence.models import SnapshotKind, WorkerStatus
from wzcheckin.residence.queries import HEADCOUNT_CSV_HEADER, iter_headcounts
from wzcheckin.scanning.models import Checkpoint

ROSTER_HEADER = "credit_code,name,id_number,phone,hukou,residence_permit_no,residence_permit_expiry,pledged\n"


def report(db, snapshot_id: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADCOUNT_CSV_HEADER)
    for row in iter_headcounts(db, snapshot_id):
        writer.writerow([row.credit_code, row.name, row.ownership, row.retained, row.tier, row.amount_yuan])
    return out.getvalue()


def build_enterprise_with_50(db, vault, programme):
    """A private enterprise whose roster of 50 non-local workers all stayed: ¥50,000 at the cutoff."""
    code = make_credit_code()
    import_enterprises(db, vault, f"credit_code,name,district,ownership,industrial,admin_phone\n"
                                  f"{code},温州留岗鞋业有限公司,瓯海区,private,yes,\n", at("2021-01-20 09:00"))
    people = [(make_unique_id_number(), make_phone()) for _ in range(50)]
    roster = ROSTER_HEADER + "".join(f"{code},工人{n},{id_number},{phone},,ZJ33030{n:04d},2021-12-31,yes\n"
                                     for n, (id_number, phone) in enumerate(people))
    report_ = import_workers(db, vault, programme, roster, at("2021-01-25 09:00"))
    assert report_.created == 50
    enterprise = db.scalar(sa.select(Enterprise).where(Enterprise.credit_code == code))
    gate = db.scalar(sa.select(Checkpoint).where(Checkpoint.ref == enterprise.gate_ref))
    staff = make_user(db, vault, Role.GATEKEEPER, checkpoint=gate)
    workers = db.scalars(sa.select(Worker).where(Worker.enterprise_id == enterprise.id).order_by(Worker.id)).all()
    for worker in workers:
        for when in ("2021-02-05 09:00", "2021-02-13 09:00", "2021-02-22 09:00"):
            add_scan(db, worker.id, gate, staff, at(when))
    db.commit()
    return code, people


def after_the_cutoff_everything_changes(db, vault, programme, code, people):
    """A roster re-import the day after the cutoff: one worker now declares a Wenzhou hukou,
    one withdraws the pledge, one moves to another employer; the enterprise becomes state-owned."""
    other = make_credit_code()
    import_enterprises(db, vault, f"credit_code,name,district,ownership,industrial,admin_phone\n"
                                  f"{code},温州留岗鞋业(国有)有限公司,鹿城区,state,no,\n"
                                  f"{other},另一家企业,龙湾区,private,no,\n", at("2021-03-02 09:00"))
    lines = []
    for n, (id_number, phone) in enumerate(people):
        employer, hukou, pledged = code, "", "yes"
        if n == 0:
            hukou = "浙江省乐清市"
        elif n == 1:
            pledged = "no"
        elif n == 2:
            employer = other
        lines.append(f"{employer},工人{n},{id_number},{phone},{hukou},ZJ33030{n:04d},,{pledged}\n")
    import_workers(db, vault, programme, ROSTER_HEADER + "".join(lines), at("2021-03-02 09:00"))
    db.commit()


def test_a_roster_reimport_after_the_cutoff_never_changes_a_recomputation_of_the_cutoff(app, db, vault, programme):
    with app.app_context():
        code, people = build_enterprise_with_50(db, vault, programme)
        official = run_snapshot(db, programme, as_of=programme.cutoff, now=at("2021-03-01 00:05"))
        before = report(db, official["snapshot_id"])
        assert f"{code},温州留岗鞋业有限公司,private,50,50,50000" in before

        after_the_cutoff_everything_changes(db, vault, programme, code, people)
        recomputed = run_snapshot(db, programme, as_of=programme.cutoff, now=at("2021-03-03 09:00"),
                                  kind=SnapshotKind.TRIAL)
        assert recomputed["snapshot_id"] != official["snapshot_id"]
        assert report(db, recomputed["snapshot_id"]) == before
        # The facts did change — as of now, the enterprise would get nothing.
        later = run_snapshot(db, programme, as_of=at("2021-03-03 00:00"), now=at("2021-03-03 09:00"))
        assert f"{code},温州留岗鞋业(国有)有限公司,state,47,0,0" in report(db, later["snapshot_id"])


def test_a_cutoff_run_resumed_after_a_reimport_decides_from_the_facts_at_the_cutoff(app, db, vault, programme):
    with app.app_context():
        code, people = build_enterprise_with_50(db, vault, programme)
        rules = rules_for(programme, programme.cutoff, SnapshotKind.OFFICIAL)
        expected = sorted(tuple(row) for row in db.execute(
            status_select(programme, rules, worker_range=(0, 10**9))).all())

        class Crash(Exception):
            pass

        steps = []

        def crash_after_the_first_chunk(message: str) -> None:
            steps.append(message)
            if "statuses up to worker" in message and len(steps) > 1:
                raise Crash(message)

        try:
            run_snapshot(db, programme, as_of=programme.cutoff, now=at("2021-03-01 00:05"), status_chunk=10,
                         progress=crash_after_the_first_chunk)
        except Crash:
            db.rollback()
        after_the_cutoff_everything_changes(db, vault, programme, code, people)
        resumed = run_snapshot(db, programme, as_of=programme.cutoff, now=at("2021-03-02 10:00"), status_chunk=10)
        assert resumed["resumed"]
        stored = db.execute(sa.select(*[getattr(WorkerStatus, name) for name in STATUS_COLUMNS])
                            .where(WorkerStatus.snapshot_id == resumed["snapshot_id"])).all()
        assert sorted(tuple(row) for row in stored) == expected
        assert f"{code},温州留岗鞋业有限公司,private,50,50,50000" in report(db, resumed["snapshot_id"])
