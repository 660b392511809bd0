"""The hotline case log (issue 14 item 5): an officer of 经信局 records a call — topic, outcome,
note — linked to the worker (by the caller's number) or the enterprise (by its credit code);
cases are found again by a full or masked phone number or a credit code; every record and search
is audited; no phone number is kept or shown in clear, nor travels in a URL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.builders import make_enterprise, make_phone, make_user, make_worker
from tests.support.clock import at
from tests.support.web import csrf_token_from
from wzcheckin.admin import hotline
from wzcheckin.admin.hotline import CallDetails, HotlineRefused
from wzcheckin.admin.models import HotlineCase
from wzcheckin.core.models import AuditEntry
from wzcheckin.core.roles import Role

NOW = at("2021-02-12 21:30")


def test_a_call_is_linked_to_the_worker_by_the_callers_number_and_found_again(db, vault, programme):
    enterprise = make_enterprise(db, vault)
    worker = make_worker(db, vault, programme, enterprise=enterprise)
    officer = make_user(db, vault, Role.ECONOMY_OFFICIAL)
    phone = vault.decrypt(worker.user.phone_encrypted)
    case = hotline.record_case(db, vault, CallDetails(topic="subsidy", outcome="answered", note="问留温补助何时发放",
                                                      caller_phone=phone), actor=officer, now=NOW)
    assert case.worker_id == worker.id and case.enterprise_id == enterprise.id  # the worker's employer
    assert case.caller_phone_masked == phone[:3] + "****" + phone[-4:]
    assert phone not in (case.caller_phone_hash or "") and case.note == "问留温补助何时发放"
    other = hotline.record_case(db, vault, CallDetails(topic="wages", outcome="referred", note="反映欠薪",
                                                       credit_code=enterprise.credit_code.lower()),
                                actor=officer, now=NOW)
    assert other.enterprise_id == enterprise.id and other.worker_id is None and other.caller_phone_hash is None
    hotline.record_case(db, vault, CallDetails(topic="other", outcome="answered", note="问天气",
                                               caller_phone=make_phone()), actor=officer, now=NOW)

    assert [c.id for c in hotline.find_cases(db, vault, phone)] == [case.id]
    assert [c.id for c in hotline.find_cases(db, vault, case.caller_phone_masked)] == [case.id]
    assert {c.id for c in hotline.find_cases(db, vault, enterprise.credit_code)} == {case.id, other.id}
    with pytest.raises(HotlineRefused) as unclear:
        hotline.find_cases(db, vault, "李娜")
    assert unclear.value.code == "search_unclear"
    audited = db.scalars(sa.select(AuditEntry).where(AuditEntry.action == "hotline.case")).all()
    assert len(audited) == 3 and all(entry.actor_user_id == officer.id for entry in audited)


@pytest.mark.parametrize(("details", "code", "field"), [
    (CallDetails(topic="", outcome="answered", note="x"), "topic_required", "topic"),
    (CallDetails(topic="wages", outcome="maybe", note="x"), "outcome_required", "outcome"),
    (CallDetails(topic="wages", outcome="answered", note="  "), "note_required", "note"),
    (CallDetails(topic="wages", outcome="answered", note="x" * 1001), "note_too_long", "note"),
    (CallDetails(topic="wages", outcome="answered", note="x", caller_phone="12345"), "phone_format", "caller_phone"),
    (CallDetails(topic="wages", outcome="answered", note="x", credit_code="91330304MA2H8KQ1X0"), "credit_check",
     "credit_code"),
])
def test_a_call_with_a_mistake_is_refused_on_its_field_and_nothing_is_written(db, vault, details, code, field):
    officer = make_user(db, vault, Role.ECONOMY_OFFICIAL)
    with pytest.raises(HotlineRefused) as refused:
        hotline.record_case(db, vault, details, actor=officer, now=NOW)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert db.scalar(sa.select(sa.func.count(HotlineCase.id))) == 0


def test_an_unknown_credit_code_is_refused(db, vault):
    from tests.builders import make_credit_code

    officer = make_user(db, vault, Role.ECONOMY_OFFICIAL)
    with pytest.raises(HotlineRefused) as refused:
        hotline.record_case(db, vault, CallDetails(topic="wages", outcome="answered", note="x",
                                                   credit_code=make_credit_code()), actor=officer, now=NOW)
    assert refused.value.code == "unknown_enterprise"


def test_the_pages_record_list_and_search_without_a_number_in_clear(db, vault, programme, client, login_as):
    worker = make_worker(db, vault, programme, enterprise=make_enterprise(db, vault))
    phone = vault.decrypt(worker.user.phone_encrypted)
    officer = make_user(db, vault, Role.ECONOMY_OFFICIAL)
    db.commit()
    login_as(officer)
    page = client.get("/admin/hotline")
    assert page.status_code == 200 and "登记来电" in page.text
    token = csrf_token_from(page.text)
    wrong = client.post("/admin/hotline", data={"csrf_token": token, "caller_phone": phone, "topic": "wages",
                                                "outcome": "answered", "note": ""})
    assert wrong.status_code == 422 and "请记录来电人所问及答复内容" in wrong.text and phone not in wrong.text
    saved = client.post("/admin/hotline", data={"csrf_token": token, "caller_phone": phone, "topic": "wages",
                                                "outcome": "follow_up", "note": "反映12月工资未发"})
    assert saved.status_code == 302
    listed = client.get("/admin/hotline").text
    assert "反映12月工资未发" in listed and phone[:3] + "****" + phone[-4:] in listed and phone not in listed
    found = client.post("/admin/hotline/search", data={"csrf_token": token, "query": phone})
    assert found.status_code == 200 and "找到 1 条记录" in found.text and phone not in found.text
    unclear = client.post("/admin/hotline/search", data={"csrf_token": token, "query": "张三"})
    assert unclear.status_code == 422
    db.rollback()
    actions = list(db.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions.count("hotline.case") == 1 and actions.count("hotline.search") == 1
    assert all(phone not in str(entry.details) for entry in db.scalars(sa.select(AuditEntry)))


def test_the_auditor_reads_and_searches_but_records_nothing(db, vault, client, login_as):
    login_as(make_user(db, vault, Role.AUDITOR))
    page = client.get("/admin/hotline")
    assert page.status_code == 200 and "登记来电" not in page.text
    token = csrf_token_from(page.text)
    assert client.post("/admin/hotline", data={"csrf_token": token, "topic": "wages", "outcome": "answered",
                                               "note": "x"}).status_code == 403
    assert client.post("/admin/hotline/search", data={"csrf_token": token, "query": make_phone()}).status_code == 200
    db.rollback()
    assert db.scalar(sa.select(sa.func.count(HotlineCase.id))) == 0
