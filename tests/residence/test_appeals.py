"""Appeals and corrections (SPEC §3): each rule as its policy sentence, on both databases, and one
appeal carried end to end — a fever refusal, an appeal, an official's acceptance, a correction
that lifts the enterprise to its tier; then a departure found later taken back out."""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

from tests.builders import make_phone, make_user, make_worker
from tests.residence.builders import IN_WINDOW, add_scan, bulk_workers, make_site
from tests.support.clock import at
from wzcheckin.accounts.facts import decide_hukou_review
from wzcheckin.accounts.models import Worker
from wzcheckin.benefits.models import PointsEntry
from wzcheckin.benefits.points import points_balance
from wzcheckin.core.models import AuditEntry
from wzcheckin.core.roles import Role
from wzcheckin.enterprises.models import Ownership
from wzcheckin.enterprises.services import EnterpriseRow, upsert_enterprise
from wzcheckin.programme import HukouStatus
from wzcheckin.residence import appeals, corrections
from wzcheckin.residence.errors import ResidenceError
from wzcheckin.residence.models import (
    AppealPhoto,
    Correction,
    CorrectionWorker,
    EnterpriseHeadcount,
    SmsMessage,
    WorkerStatus,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def with_admin_phone(db, vault, site) -> str:
    phone = make_phone("138")
    enterprise = site.enterprise
    upsert_enterprise(db, vault, EnterpriseRow(enterprise.credit_code, enterprise.name, enterprise.district,
                                               Ownership.PRIVATE, True, phone), enterprise.created_at)
    return phone


def fever_refused_worker(db, vault, programme, site) -> Worker:
    """A worker with a valid permit scanned before and after the holiday, but refused at the gate
    with a fever in the holiday window: no evidence there, so not confirmed at the cutoff."""
    worker = make_worker(db, vault, programme, enterprise=site.enterprise, permit="ZJ3303000099",
                         permit_expiry=date(2022, 1, 1))
    add_scan(db, worker.id, site.gate, site.staff, at(IN_WINDOW[0]))
    add_scan(db, worker.id, site.gate, site.staff, at(IN_WINDOW[1]), accepted=False)
    add_scan(db, worker.id, site.gate, site.staff, at(IN_WINDOW[2]))
    db.flush()
    return worker


@pytest.fixture
def world(app, db, vault, programme, cutoff):
    """49 confirmed workers (with permits) and one fever-refused worker at a private enterprise
    with an admin phone; another enterprise with 60 confirmed; the official snapshot run."""
    site, other = make_site(db, vault, name="瓯江鞋业"), make_site(db, vault, name="柳市电气")
    admin_phone = with_admin_phone(db, vault, site)
    retained = bulk_workers(db, vault, site, 49, permit=True)
    bulk_workers(db, vault, other, 60)
    appellant = fever_refused_worker(db, vault, programme, site)
    official = make_user(db, vault, Role.OFFICIAL)
    db.commit()
    cutoff()
    return {"site": site, "other": other, "appellant": appellant, "retained": retained, "official": official,
            "admin_phone": admin_phone}


def run(app, db, function, *args, **kwargs):
    """A domain call as a view or command makes it: in an app context (notices are worded in the
    recipient's language), committed once."""
    with app.app_context():
        result = function(db, *args, **kwargs)
        db.commit()
        return result


def official_snapshot_id(db):
    return db.scalar(sa.select(EnterpriseHeadcount.snapshot_id).limit(1))


def test_one_appeal_end_to_end_then_a_departure_found_later(app, db, programme, world):
    site, worker, official = world["site"], world["appellant"], world["official"]
    snapshot_id = official_snapshot_id(db)
    status = db.get(WorkerStatus, (snapshot_id, worker.id))
    assert (status.confirmed, status.reason) == (False, "missing_evidence")
    assert db.get(EnterpriseHeadcount, (snapshot_id, site.enterprise.id)).retained == 49
    assert points_balance(db, worker.id) == 0
    p7_notices = db.scalar(sa.select(sa.func.count()).select_from(SmsMessage))

    # The worker appeals with a reason and a photo of the clinic's note; an official accepts.
    appeal = run(app, db, appeals.file_worker_appeal, programme, worker=worker, reason="发烧被拒, 有门诊记录",
                 photo=PNG, actor=worker.user, now=at("2021-03-02 10:00"))
    assert (appeal.kind.value, appeal.status.value, appeal.appealed_reason) == ("worker", "open", "missing_evidence")
    assert db.get(AppealPhoto, appeal.id).content_type == "image/png"
    run(app, db, appeals.decide_appeal, programme, appeal=appeal, accept=True, reason="门诊记录属实",
        actor=official, now=at("2021-03-03 10:00"))
    told = db.scalar(sa.select(SmsMessage).where(SmsMessage.kind == "appeal_decided"))
    assert told.worker_id == worker.id and "门诊记录属实" in told.body
    # The official snapshot never changes.
    assert db.get(WorkerStatus, (snapshot_id, worker.id)).confirmed is False

    first = run(app, db, corrections.correct, programme, now=at("2021-03-04 09:00"))
    assert first["created"] and first["version"] == 1
    assert first["changes"] == [{"worker_id": worker.id, "enterprise_id": site.enterprise.id,
                                 "before": {"confirmed": False, "reason": "missing_evidence"},
                                 "after": {"confirmed": True, "reason": "appeal_accepted"},
                                 "cause": "appeal_accepted", "cause_id": appeal.id}]
    assert first["enterprises"] == [{"enterprise_id": site.enterprise.id, "credit_code": site.enterprise.credit_code,
                                     "retained_before": 49, "retained": 50, "tier_before": 0, "tier": 50,
                                     "amount_yuan_before": 0, "amount_yuan": 50000}]
    assert first["total_amount_yuan"] == 50000 + 50000 and first["points"] == {"awarded": 1, "reversed": 0}
    # Notices only to the worker and the enterprise whose outcome changed.
    notices = db.scalars(sa.select(SmsMessage).where(SmsMessage.kind.like("correction_%"))
                         .order_by(SmsMessage.id)).all()
    assert [(m.kind, m.worker_id, m.enterprise_id) for m in notices] == [
        ("correction_worker", worker.id, None), ("correction_enterprise", None, site.enterprise.id)]
    assert "50,000" in notices[1].body and world["admin_phone"] not in notices[1].body
    assert notices[1].status.value == "queued"
    assert points_balance(db, worker.id) == 5

    # Nothing new decided: no new version, nothing awarded or sent again.
    again = run(app, db, corrections.correct, programme, now=at("2021-03-05 09:00"))
    assert not again["created"] and again["version"] == 1
    assert db.scalar(sa.select(sa.func.count()).select_from(Correction)) == 1
    assert db.scalar(sa.select(sa.func.count()).select_from(SmsMessage)) == p7_notices + 3

    # A departure found later (on 20 Feb, recorded on 6 March) takes a confirmed worker back out.
    leaver = db.get(Worker, world["retained"][0])
    assert points_balance(db, leaver.id) == 5   # the cutoff's P2 award
    run(app, db, corrections.record_found_departure, programme, worker=leaver, departed_on=date(2021, 2, 20),
        note="社保记录显示2月20日已离温", actor=official, now=at("2021-03-06 09:00"))
    assert db.get(WorkerStatus, (snapshot_id, leaver.id)).confirmed is True   # still as the snapshot said
    second = run(app, db, corrections.correct, programme, now=at("2021-03-07 09:00"))
    assert second["version"] == 2
    assert [(c["worker_id"], c["after"]["reason"], c["cause"]) for c in second["changes"]] == [
        (leaver.id, "departed", "departure_found")]
    assert [(e["retained_before"], e["retained"], e["amount_yuan"]) for e in second["enterprises"]] == [(50, 49, 0)]
    # P2 taken back through the ledger: a reversal entry, the award still there.
    entries = db.scalars(sa.select(PointsEntry).where(PointsEntry.worker_id == leaver.id)
                         .order_by(PointsEntry.id)).all()
    assert [(e.amount, e.reason, e.award_key.rsplit(":", 1)[-1]) for e in entries] == [
        (5, "residence_permit_stay", str(leaver.id)), (-5, "residence_permit_stay_reversal", "c2")]
    assert points_balance(db, leaver.id) == 0 and points_balance(db, worker.id) == 5
    # Version 2 still carries the accepted appeal (an overlay of every worker changed so far).
    rows = {row.worker_id: row for row in db.scalars(sa.select(CorrectionWorker).where(
        CorrectionWorker.correction_id == db.scalar(sa.select(Correction.id).where(Correction.version == 2))))}
    assert (rows[worker.id].confirmed, rows[worker.id].changed) == (True, False)
    assert (rows[leaver.id].confirmed, rows[leaver.id].changed) == (False, True)
    actions = [a for a in db.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id))
               if a.startswith("residence.") and a != "residence.snapshot.official"]
    assert actions == ["residence.appeal.file", "residence.appeal.accepted", "residence.correction",
                       "residence.departure.found", "residence.correction"]


def test_appeals_open_after_the_snapshot_until_the_window_closes(app, db, vault, programme, cutoff):
    site = make_site(db, vault)
    worker = fever_refused_worker(db, vault, programme, site)
    db.commit()
    with pytest.raises(ResidenceError) as before:
        run(app, db, appeals.file_worker_appeal, programme, worker=worker, reason="发烧", actor=worker.user,
            now=at("2021-03-01 00:10"))
    assert before.value.code == "appeal_window_closed"   # no official snapshot yet
    db.rollback()
    cutoff()
    last_moment = programme.appeals_close
    assert last_moment == at("2021-03-31 00:00")        # [appeals] window_days = 30 after the cutoff
    with pytest.raises(ResidenceError) as late:
        run(app, db, appeals.file_worker_appeal, programme, worker=worker, reason="发烧", actor=worker.user,
            now=last_moment)
    assert late.value.code == "appeal_window_closed"
    db.rollback()
    filed = run(app, db, appeals.file_worker_appeal, programme, worker=worker, reason="发烧", actor=worker.user,
                now=at("2021-03-30 23:59"))
    assert filed.status.value == "open"


def test_a_confirmed_worker_has_nothing_to_appeal_and_one_appeal_stays_open_at_a_time(app, db, vault, programme,
                                                                                      world):
    confirmed = db.get(Worker, world["retained"][0])
    worker = world["appellant"]
    now = at("2021-03-02 10:00")
    with pytest.raises(ResidenceError) as nothing:
        run(app, db, appeals.file_worker_appeal, programme, worker=confirmed, reason="?", actor=confirmed.user, now=now)
    assert nothing.value.code == "nothing_to_appeal"
    db.rollback()
    first = run(app, db, appeals.file_worker_appeal, programme, worker=worker, reason="发烧", actor=worker.user, now=now)
    with pytest.raises(ResidenceError) as twice:
        run(app, db, appeals.file_worker_appeal, programme, worker=worker, reason="发烧", actor=worker.user, now=now)
    assert twice.value.code == "already_open"
    db.rollback()
    # Decided once: a rejection needs a reason, and a second decision is refused.
    with pytest.raises(ResidenceError) as no_reason:
        run(app, db, appeals.decide_appeal, programme, appeal=first, accept=False, reason=" ", actor=world["official"],
            now=now)
    assert no_reason.value.code == "decision_reason_required"
    db.rollback()
    run(app, db, appeals.decide_appeal, programme, appeal=first, accept=False, reason="无证明", actor=world["official"],
        now=now)
    with pytest.raises(ResidenceError) as decided:
        run(app, db, appeals.decide_appeal, programme, appeal=first, accept=True, reason="改判",
            actor=world["official"], now=now)
    assert decided.value.code == "already_decided"
    db.rollback()
    # A rejected worker may appeal again within the window; a rejection changes no figure.
    again = run(app, db, appeals.file_worker_appeal, programme, worker=worker, reason="补充证明", actor=worker.user,
                now=now)
    assert again.status.value == "open"
    assert not run(app, db, corrections.correct, programme, now=at("2021-03-03 10:00"))["created"]


def test_the_photo_is_optional_and_only_a_small_jpeg_or_png(app, db, programme, world):
    worker = world["appellant"]
    now = at("2021-03-02 10:00")
    for photo, code in ((b"<svg onload=alert(1)>", "photo_type"),
                        (PNG + b"\x00" * programme.appeals.photo_max_bytes, "photo_too_large")):
        with pytest.raises(ResidenceError) as refused:
            run(app, db, appeals.file_worker_appeal, programme, worker=worker, reason="发烧", photo=photo,
                actor=worker.user, now=now)
        assert refused.value.code == code
        db.rollback()
    appeal = run(app, db, appeals.file_worker_appeal, programme, worker=worker, reason="发烧", actor=worker.user, now=now)
    assert not appeal.has_photo and db.get(AppealPhoto, appeal.id) is None


def test_a_hukou_appeal_accepted_decides_not_wenzhou_and_the_correction_applies_the_other_rules(
        app, db, vault, programme, cutoff):
    site = make_site(db, vault)
    bulk_workers(db, vault, site, 49)
    # Declared 平阳 (a Wenzhou county) with an ID number from Sichuan: to be reviewed.
    worker = make_worker(db, vault, programme, enterprise=site.enterprise, hukou="浙江省平阳县")
    for when in IN_WINDOW:
        add_scan(db, worker.id, site.gate, site.staff, at(when))
    official = make_user(db, vault, Role.OFFICIAL)
    db.commit()
    assert worker.hukou_status is HukouStatus.REVIEW
    cutoff()
    appeal = run(app, db, appeals.file_worker_appeal, programme, worker=worker, reason="户口已迁出平阳", actor=worker.user,
                 now=at("2021-03-02 10:00"))
    assert appeal.kind.value == "hukou"
    run(app, db, appeals.decide_appeal, programme, appeal=appeal, accept=True, reason="户口簿显示四川",
        actor=official, now=at("2021-03-03 10:00"))
    db.refresh(worker)
    assert worker.hukou_status is HukouStatus.NON_LOCAL
    summary = run(app, db, corrections.correct, programme, now=at("2021-03-04 10:00"))
    assert [(c["after"], c["cause"]) for c in summary["changes"]] == [
        ({"confirmed": True, "reason": "confirmed"}, "hukou_decided")]
    assert summary["enterprises"][0]["amount_yuan"] == 50000


def test_a_hukou_review_decided_wenzhou_after_the_cutoff_changes_the_reason_not_the_count(app, db, vault, programme,
                                                                                          cutoff):
    site = make_site(db, vault)
    worker = make_worker(db, vault, programme, enterprise=site.enterprise, hukou="温州市鹿城区")
    for when in IN_WINDOW:
        add_scan(db, worker.id, site.gate, site.staff, at(when))
    db.commit()
    cutoff()
    run(app, db, decide_hukou_review, worker, decision=HukouStatus.HOME, reason="户口簿在鹿城", decided_by_user_id=None,
        now=at("2021-03-03 10:00"))
    summary = run(app, db, corrections.correct, programme, now=at("2021-03-04 10:00"))
    assert [(c["before"]["reason"], c["after"]) for c in summary["changes"]] == [
        ("hukou_review", {"confirmed": False, "reason": "wenzhou_hukou"})]
    assert summary["enterprises"] == [] and summary["sms_queued"] == 0


def test_an_enterprise_appeals_its_headcount_for_named_workers_of_its_roster(app, db, vault, programme, cutoff):
    site, other = make_site(db, vault), make_site(db, vault)
    bulk_workers(db, vault, site, 48)
    missed = bulk_workers(db, vault, site, 2, windows=(0, 2))
    stranger = bulk_workers(db, vault, other, 1, windows=(0,))[0]
    admin = make_user(db, vault, Role.ENTERPRISE_ADMIN, checkpoint=site.gate)
    official = make_user(db, vault, Role.OFFICIAL)
    db.commit()
    cutoff()
    now = at("2021-03-02 10:00")
    with pytest.raises(ResidenceError) as foreign:
        run(app, db, appeals.file_enterprise_appeal, programme, enterprise=site.enterprise,
            worker_ids=[missed[0], stranger], reason="春节期间轮岗", actor=admin, now=now)
    assert foreign.value.code == "not_on_roster"
    db.rollback()
    appeal = run(app, db, appeals.file_enterprise_appeal, programme, enterprise=site.enterprise, worker_ids=missed,
                 reason="春节期间在宿舍隔离, 未过闸机", actor=admin, now=now)
    assert (appeal.kind.value, appeal.claimed_worker_ids) == ("enterprise", missed)
    run(app, db, appeals.decide_appeal, programme, appeal=appeal, accept=True, reason="隔离记录属实",
        actor=official, now=at("2021-03-03 10:00"))
    summary = run(app, db, corrections.correct, programme, now=at("2021-03-04 10:00"))
    assert [c["worker_id"] for c in summary["changes"]] == missed
    assert [(e["retained_before"], e["retained"], e["amount_yuan"]) for e in summary["enterprises"]] == [(48, 50, 50000)]


def test_the_cli_lists_and_decides_appeals_and_corrects(app, db, runner, programme, world, set_clock):
    worker = world["appellant"]
    appeal = run(app, db, appeals.file_worker_appeal, programme, worker=worker, reason="发烧", actor=worker.user,
                 now=at("2021-03-02 10:00"))
    set_clock("2021-03-03 10:00")

    def invoke(*args):
        with app.app_context():
            return runner.invoke(args=list(args))

    listed = json.loads(invoke("appeals", "list", "--status", "open").output.splitlines()[-1])
    assert [(a["id"], a["kind"], a["status"]) for a in listed] == [(appeal.id, "worker", "open")]
    assert invoke("appeals", "decide", str(appeal.id), "--reason", "x").exit_code == 1   # neither accept nor reject
    decided = json.loads(invoke("appeals", "decide", str(appeal.id), "--accept", "--reason", "属实")
                         .output.splitlines()[-1])
    assert (decided["status"], decided["decision_reason"]) == ("accepted", "属实")
    assert json.loads(invoke("appeals", "list", "--status", "open").output.splitlines()[-1]) == []
    corrected = json.loads(invoke("cutoff", "correct").output.splitlines()[-1])
    assert corrected["version"] == 1 and [c["worker_id"] for c in corrected["changes"]] == [worker.id]
    assert not json.loads(invoke("cutoff", "correct").output.splitlines()[-1])["created"]
    report = invoke("report", "headcounts").output.splitlines()
    assert f"{world['site'].enterprise.credit_code},瓯江鞋业,private,50,50,50000" in report
