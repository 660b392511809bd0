"""The points ledger (P2): append-only entries with a unique award key, the balance as their sum,
the worker's history, and the officials' export for the police new-resident points system."""

import csv
import io
from datetime import date, timedelta

import sqlalchemy as sa

from tests.builders import make_user, make_worker
from tests.support.clock import at
from tests.support.web import csrf_token_from
from wzcheckin.accounts.models import Worker
from wzcheckin.benefits.models import PointsEntry
from wzcheckin.benefits.points import award_points, award_points_bulk, points_balance, points_history
from wzcheckin.core.roles import Role

NOW = at("2021-03-01 00:00")


def award(db, worker, key, amount=5, reason="residence_permit_stay", when=NOW):
    return award_points(db, worker_id=worker.id, amount=amount, reason=reason, source="cutoff", award_key=key,
                        now=when, description="留温过年新居民积分")


def test_balance_is_the_sum_and_a_key_awards_once(db, vault, programme):
    worker = make_worker(db, vault, programme)
    assert points_balance(db, worker.id) == 0
    assert award(db, worker, "p2:1") is not None
    assert award(db, worker, "p2:1", amount=50) is None          # the same key: nothing
    assert award(db, worker, "official:7", amount=-2, reason="correction", when=NOW + timedelta(days=1)) is not None
    assert points_balance(db, worker.id) == 3
    assert [e.amount for e in points_history(db, worker.id)] == [5, -2]
    assert db.scalar(sa.select(sa.func.count()).select_from(PointsEntry)) == 2


def test_a_concurrent_twin_award_loses_on_the_unique_key_without_breaking_the_transaction(db, vault, programme):
    worker = make_worker(db, vault, programme)
    db.add(PointsEntry(worker_id=worker.id, amount=5, reason="r", source="cutoff", award_key="twin", created_at=NOW))
    db.flush()
    # The pre-check is what a racing twin would not see; the savepoint catches the violation.
    entry = PointsEntry(worker_id=worker.id, amount=5, reason="r", source="cutoff", award_key="twin", created_at=NOW)
    try:
        with db.begin_nested():
            db.add(entry)
        raised = False
    except sa.exc.IntegrityError:
        raised = True
    assert raised
    assert award(db, worker, "after-the-twin") is not None  # the outer transaction is still usable
    assert points_balance(db, worker.id) == 10


def test_a_bulk_award_writes_what_award_points_writes_and_skips_keys_already_awarded(db, vault, programme):
    workers = [make_worker(db, vault, programme) for _ in range(3)]
    award(db, workers[0], f"bulk:{workers[0].id}")
    ids = sa.select(Worker.id).where(Worker.id.in_([w.id for w in workers]))

    def bulk():
        return award_points_bulk(db, ids, amount=5, reason="residence_permit_stay", source="cutoff",
                                 award_key_prefix="bulk:", now=NOW, description="留温过年新居民积分")

    assert bulk() == 2
    assert bulk() == 0                                            # the same keys again: nothing
    entries = db.scalars(sa.select(PointsEntry).order_by(PointsEntry.worker_id)).all()
    assert [(e.worker_id, e.award_key) for e in entries] == [(w.id, f"bulk:{w.id}") for w in workers]
    assert {(e.amount, e.reason, e.source, e.description, e.created_at, e.created_by_user_id) for e in entries} == {
        (5, "residence_permit_stay", "cutoff", "留温过年新居民积分", NOW, None)}


def test_the_worker_sees_the_history(client, db, vault, programme, login_as):
    worker = make_worker(db, vault, programme)
    award(db, worker, "p2:history")
    db.commit()
    login_as(worker.user)
    page = client.get("/me/points")
    assert page.status_code == 200 and "+5" in page.text and "留温过年新居民积分" in page.text
    body = client.get("/api/v1/me/points").get_json()
    assert body["balance"] == 5 and body["entries"][0]["reason"] == "residence_permit_stay"
    assert client.get("/api/v1/me").get_json()["points"] == 5


def test_export_is_masked_by_default_and_a_full_export_is_logged(client, db, vault, programme, login_as,
                                                                 audit_entries):
    worker = make_worker(db, vault, programme, name="张伟", permit="ZJ330300123456", permit_expiry=date(2022, 1, 1))
    award(db, worker, "p2:export")
    official = make_user(db, vault, Role.POLICE_OFFICIAL)  # new-resident points are 公安局's
    db.commit()
    id_number = vault.decrypt(worker.id_number_encrypted)
    login_as(official)
    page = client.get("/admin/benefits/points")
    assert page.status_code == 200
    masked = client.post("/admin/benefits/points/export", data={"csrf_token": csrf_token_from(page.text)})
    text = masked.data.decode("utf-8-sig")
    assert id_number not in text and "ZJ330300123456" not in text and "张伟" not in text
    [header, row] = list(csv.reader(io.StringIO(text)))
    assert header == ["entry_id", "id_number", "name", "residence_permit_no", "amount", "reason", "description",
                      "source", "awarded_at"]
    assert row[1] == "*" * 14 + id_number[-4:] and row[2] == "张*" and row[3].endswith("3456") and row[4] == "5"
    assert row[8].startswith("2021-03-01T00:00:00+08:00")

    full = client.post("/admin/benefits/points/export", data={"csrf_token": csrf_token_from(page.text), "reveal": "y",
                                                                "reason": "residence_permit_stay"})
    assert id_number in full.data.decode("utf-8-sig") and "ZJ330300123456" in full.data.decode("utf-8-sig")
    entries = audit_entries("points.export")
    assert [e.details["revealed"] for e in entries] == [[], ["id_number", "name", "residence_permit_no"]]
    assert all(e.actor_user_id == official.id and id_number not in str(e.details) for e in entries)


def test_only_officials_export(client, db, vault, programme, login_as):
    worker = make_worker(db, vault, programme)
    db.commit()
    login_as(worker.user)
    assert client.get("/admin/benefits/points").status_code == 403
    assert client.post("/admin/benefits/points/export").status_code in (400, 403)


def test_cli_points_export(app, runner, db, vault, programme):
    worker = make_worker(db, vault, programme)
    award(db, worker, "p2:cli")
    db.commit()
    result = runner.invoke(args=["points", "export"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].endswith(",5,residence_permit_stay,留温过年新居民积分,cutoff,"
                                                   "2021-03-01T00:00:00+08:00")
