"""The cutoff replayed on a simulated clock through the real command line: refusing to run
early, the JSON summary, ``report headcounts`` byte for byte across reruns, nothing awarded or
sent twice, and the SMS gateway adapter."""

import csv
import io
import json

import pytest
import sqlalchemy as sa

from tests.builders import make_phone
from tests.residence.builders import bulk_workers, make_site
from tests.residence.conftest import wzcheckin
from tests.support.clock import at
from wzcheckin.benefits.models import PointsEntry
from wzcheckin.clock import SimulatedClock
from wzcheckin.core.sms import SmsGatewayError, load_gateway
from wzcheckin.enterprises.models import Ownership
from wzcheckin.enterprises.services import EnterpriseRow, upsert_enterprise
from wzcheckin.residence.models import SmsMessage

HEADER = "credit_code,name,ownership,retained,tier,amount_yuan"


def small_world(db, vault):
    """Three enterprises: 100 retained (one with an admin phone), 50 retained, and state-owned."""
    big, mid = make_site(db, vault, name="瓯江鞋业"), make_site(db, vault, name="柳市电气")
    state = make_site(db, vault, ownership=Ownership.STATE, name="城市服务集团")
    admin_phone = make_phone("138")
    row = EnterpriseRow(big.enterprise.credit_code, big.enterprise.name, big.enterprise.district, Ownership.PRIVATE,
                        True, admin_phone)
    upsert_enterprise(db, vault, row, big.enterprise.created_at)
    bulk_workers(db, vault, big, 60, permit=True)
    bulk_workers(db, vault, big, 40)
    bulk_workers(db, vault, big, 5, windows=(0, 2))
    bulk_workers(db, vault, mid, 50)
    bulk_workers(db, vault, mid, 4, pledged=False)
    bulk_workers(db, vault, state, 70, permit=True)
    db.commit()
    return {"big": big, "mid": mid, "state": state, "admin_phone": admin_phone}


def invoke(app, runner, *args):
    """The real click command in-process on the test app (its commands push their own context)."""
    return runner.invoke(args=list(args))


def last_json(result):
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_cutoff_run_twice_gives_the_same_report_and_awards_and_sends_nothing_twice(db, vault, database_url,
                                                                                    clock_file, app, runner):
    world = small_world(db, vault)
    clock = SimulatedClock(clock_file)

    none_yet = invoke(app, runner, "report", "headcounts")
    assert none_yet.exit_code == 1 and "no snapshot yet: the cutoff is on 2021-03-01 00:00" in none_yet.output
    clock.set(at("2021-02-28 23:59:59"))
    early = wzcheckin(database_url, "cutoff", "run", clock_file=clock_file, check=False)
    assert early.returncode == 1 and "it is only" in early.stderr

    clock.set(at("2021-03-01 00:03"), running=True)
    first = last_json(wzcheckin(database_url, "cutoff", "run", clock_file=clock_file))
    assert first["kind"] == "official" and not first["resumed"] and not first["already_complete"]
    assert first["workers"] == {"total": 229, "confirmed": 220,
                                "not_confirmed": {"not_pledged": 4, "wenzhou_hukou": 0, "hukou_review": 0, "departed": 0,
                                                  "missing_evidence": 5}}
    assert first["enterprises"]["by_tier"] == {"0": 1, "50": 1, "100": 1}
    assert first["total_amount_yuan"] == 150000
    assert (first["points_awarded"], first["sms_queued"]) == (130, 2)
    report = wzcheckin(database_url, "report", "headcounts", clock_file=clock_file).stdout
    rows = list(csv.DictReader(io.StringIO(report)))
    assert report.splitlines()[0] == HEADER
    assert {r["name"]: (r["retained"], r["tier"], r["amount_yuan"]) for r in rows} == {
        "瓯江鞋业": ("100", "100", "100000"), "柳市电气": ("50", "50", "50000"), "城市服务集团": ("70", "0", "0")}

    second = last_json(wzcheckin(database_url, "cutoff", "run", clock_file=clock_file))
    assert second["already_complete"] and second["snapshot_id"] == first["snapshot_id"]
    assert second["this_run"] == {"statuses_written": 0, "points_awarded": 0, "sms_queued": 0}
    assert wzcheckin(database_url, "report", "headcounts", clock_file=clock_file).stdout == report
    as_json = json.loads(invoke(app, runner, "report", "headcounts", "--format", "json").output.splitlines()[-1])
    assert [(r["credit_code"], r["retained"], r["amount_yuan"]) for r in as_json] == [
        (r["credit_code"], int(r["retained"]), int(r["amount_yuan"])) for r in rows]

    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(PointsEntry)) == 130
    notices = db.scalars(sa.select(SmsMessage).order_by(SmsMessage.id)).all()
    assert [(m.enterprise_id, m.status.value) for m in notices] == [
        (world["big"].enterprise.id, "queued"), (world["mid"].enterprise.id, "no_recipient")]
    assert "100,000" in notices[0].body and world["admin_phone"] not in notices[0].body

    # The default gateway: the outbox is the record; the log shows the masked phone only.
    sent = wzcheckin(database_url, "sms", "dispatch", clock_file=clock_file)
    assert last_json(sent) == {"sent": 1, "failed": 0, "gateway": "outbox"}
    assert notices[0].recipient_masked in sent.stderr and world["admin_phone"] not in sent.stderr + sent.stdout
    assert json.loads(invoke(app, runner, "sms", "dispatch").output.splitlines()[-1])["sent"] == 0
    db.rollback()
    assert db.get(SmsMessage, notices[0].id).status.value == "sent"


def test_an_sms_adapter_is_selected_by_environment_and_sends_each_message_once(db, vault, database_url, tmp_path,
                                                                               cutoff):
    world = small_world(db, vault)
    cutoff()
    refused = SmsMessage(dedupe_key="test:refused", kind="evidence_reminder", body="提醒",
                         recipient_encrypted=vault.encrypt("13900000000"), recipient_masked="139****0000",
                         status="queued", attempts=0, created_at=at("2021-03-01 09:00"))
    db.add(refused)
    db.commit()
    outbox = tmp_path / "sms.jsonl"
    env = {"WZCHECKIN_SMS_GATEWAY": "tests.residence.gateways:FileGateway", "WZCHECKIN_TEST_SMS_FILE": str(outbox)}
    result = wzcheckin(database_url, "sms", "dispatch", env=env)
    assert last_json(result) == {"sent": 1, "failed": 1, "gateway": "test_file"}
    assert "13900000000" not in result.stderr
    assert last_json(wzcheckin(database_url, "sms", "dispatch", env=env))["sent"] == 0
    delivered = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    assert [(d["to"], d["key"].split(":")[0]) for d in delivered] == [(world["admin_phone"], "p7")]
    db.rollback()
    failed = db.get(SmsMessage, refused.id)
    assert (failed.status.value, failed.attempts) == ("failed", 1)
    assert failed.last_error == "recipient refused by the provider"
    with pytest.raises(SmsGatewayError, match="WZCHECKIN_SMS_GATEWAY"):
        load_gateway("no.such.module:Gateway")
