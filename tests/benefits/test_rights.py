"""Wage-arrears complaints (P10): a worker files against an employer; officials move it
received → handling → resolved with notes; the worker and that enterprise's admin (only that
one) see its status."""

import pytest
import sqlalchemy as sa

from tests.builders import make_enterprise, make_user, make_worker
from tests.support.clock import at
from tests.support.web import csrf_token_from
from wzcheckin.benefits import rights
from wzcheckin.benefits.errors import BenefitRefused
from wzcheckin.benefits.models import ComplaintStatus, WageComplaint
from wzcheckin.core.refusals import Refusal
from wzcheckin.core.roles import Role
from wzcheckin.scanning.models import Checkpoint

NOW = at("2021-02-03 15:00")


def admin_of(db, vault, enterprise):
    gate = db.scalar(sa.select(Checkpoint).where(Checkpoint.ref == enterprise.gate_ref))
    return make_user(db, vault, Role.ENTERPRISE_ADMIN, checkpoint=gate)


def test_filing_checks_every_field(db, vault, programme):
    worker = make_worker(db, vault, programme)
    with pytest.raises(Refusal) as caught:
        rights.file_complaint(db, worker, rights.ComplaintInput(months="0", amount_yuan="-5", description=""), NOW)
    assert caught.value.errors == {"employer_name": "enterprise_or_name", "months": "out_of_range",
                                   "amount_yuan": "out_of_range", "description": "required"}
    with pytest.raises(Refusal) as caught:
        rights.file_complaint(db, worker, rights.ComplaintInput(credit_code="91330304MA0000000X", months="x",
                                                                amount_yuan="12.345", description="欠"), NOW)
    assert caught.value.errors == {"credit_code": "credit_check", "months": "number_format",
                                   "amount_yuan": "amount_format"}
    unregistered = rights.file_complaint(db, worker, rights.ComplaintInput(
        employer_name="某包工头", months="3", amount_yuan="10,500.5", description="三个月没发工资"), NOW)
    assert (unregistered.enterprise_id, unregistered.amount_fen, unregistered.status) == \
        (None, 1050050, ComplaintStatus.RECEIVED)


def test_officials_move_a_complaint_forward_only_with_notes(db, vault, programme):
    enterprise = make_enterprise(db, vault)
    worker = make_worker(db, vault, programme, enterprise=enterprise)
    complaint = rights.file_complaint(db, worker, rights.ComplaintInput(
        credit_code=enterprise.credit_code, months="2", amount_yuan="9600", description="拖欠两个月"), NOW)
    assert complaint.enterprise_id == enterprise.id and complaint.employer_name == enterprise.name

    def step(status, note):
        return rights.handle_complaint(db, complaint.id, status=status, note=note, now=NOW)

    with pytest.raises(BenefitRefused) as caught:
        step("handling", " ")
    assert caught.value.code == "note_required"
    assert step("received", "已登记").status is ComplaintStatus.RECEIVED
    assert step("handling", "已联系企业").status is ComplaintStatus.HANDLING
    with pytest.raises(BenefitRefused) as caught:
        step("received", "退回")
    assert caught.value.code == "status_order"
    resolved = step("resolved", "企业已足额支付")
    assert resolved.status is ComplaintStatus.RESOLVED and resolved.resolved_at == NOW
    with pytest.raises(BenefitRefused):
        step("resolved", "再记一笔")
    db.refresh(complaint)
    assert [n.status for n in complaint.notes] == ["received", "handling", "resolved"]


def test_the_worker_and_only_that_enterprises_admin_see_it(client, db, vault, programme, login_as, hr_official,
                                                           audit_entries):
    official = hr_official  # 人社局: the training desk and wage complaints are its own
    enterprise, other = make_enterprise(db, vault), make_enterprise(db, vault)
    worker = make_worker(db, vault, programme, enterprise=enterprise, name="王小明")
    admin, other_admin = admin_of(db, vault, enterprise), admin_of(db, vault, other)
    db.commit()
    login_as(worker.user)
    form = client.get("/me/complaints/new")
    assert enterprise.credit_code in form.text  # the employer is filled in
    bad = client.post("/me/complaints/new", data={"csrf_token": csrf_token_from(form.text), "months": "abc"})
    assert bad.status_code == 400 and "请输入整数" in bad.text
    filed = client.post("/me/complaints/new", data={
        "csrf_token": csrf_token_from(form.text), "credit_code": enterprise.credit_code, "months": "2",
        "amount_yuan": "8000", "description": "春节前工资未结清"})
    assert filed.status_code == 302
    db.rollback()
    complaint = db.scalar(sa.select(WageComplaint))
    assert "已受理" in client.get(f"/me/complaints/{complaint.id}").text

    login_as(official)
    page = client.get(f"/admin/benefits/complaints/{complaint.id}")
    assert page.status_code == 200 and "王*明" in page.text
    phone = vault.decrypt(worker.user.phone_encrypted)
    assert phone not in page.text
    revealed = client.post(f"/admin/benefits/complaints/{complaint.id}/contact",
                           data={"csrf_token": csrf_token_from(page.text)})
    assert phone in revealed.text and audit_entries("complaint.reveal_phone")[0].actor_user_id == official.id
    moved = client.post(f"/admin/benefits/complaints/{complaint.id}", data={
        "csrf_token": csrf_token_from(page.text), "status": "handling", "note": "监察大队已约谈企业"})
    assert moved.status_code == 302
    assert audit_entries("complaint.handle")[0].details == {"status": "handling"}

    login_as(admin)
    listing = client.get("/enterprise/complaints")
    assert "王*明" in listing.text and "处理中" in listing.text
    detail = client.get(f"/enterprise/complaints/{complaint.id}")
    # The employer sees the officials' notes, not the worker's own words.
    assert "监察大队已约谈企业" in detail.text and "春节前工资未结清" not in detail.text
    login_as(other_admin)
    assert "王*明" not in client.get("/enterprise/complaints").text
    assert client.get(f"/enterprise/complaints/{complaint.id}").status_code == 404

    login_as(worker.user)
    mine = client.get(f"/me/complaints/{complaint.id}")
    assert "处理中" in mine.text and "监察大队已约谈企业" in mine.text
    api = client.get("/api/v1/me/complaints").get_json()["complaints"]
    assert api[0]["status"] == "handling" and api[0]["amount_yuan"] == "8000.00"


def test_a_worker_sees_only_their_own_complaints(client, db, vault, programme, login_as):
    owner, stranger = make_worker(db, vault, programme), make_worker(db, vault, programme)
    complaint = rights.file_complaint(db, owner, rights.ComplaintInput(employer_name="某厂", months="1",
                                                                       amount_yuan="100", description="欠薪"), NOW)
    db.commit()
    login_as(stranger.user)
    assert client.get(f"/me/complaints/{complaint.id}").status_code == 404
    assert client.get("/admin/benefits/complaints").status_code == 403
    token = csrf_token_from(client.get("/me/complaints/new").text)
    created = client.post("/api/v1/me/complaints", json={"employer_name": "某厂", "months": 1, "amount_yuan": "x",
                                                         "description": "d"}, headers={"X-CSRFToken": token})
    assert created.status_code == 422 and created.get_json()["error"]["codes"] == {"amount_yuan": "amount_format"}
