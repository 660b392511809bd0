"""Visitors without a pass: real-name registration at the gate with the entry checks; ID and
phone numbers stored encrypted, hashed and masked; fever refused and reported."""

import sqlalchemy as sa

from tests.builders import make_phone, make_unique_id_number
from tests.scanning.builders import gate_setup
from tests.support.web import csrf_token_from
from wzcheckin.enterprises.models import HealthAlert, VisitorRegistration


def visitor_form(**fields):
    data = {"name": "王建华", "id_number": make_unique_id_number("410105"), "phone": make_phone("186"),
            "reason": "送货", "mask": "yes", "temperature": "36.4"}
    data.update(fields)
    return data


def test_a_visitor_is_registered_masked_and_let_in(client, db, vault, programme, login_as):
    enterprise, gate, gatekeeper, _worker = gate_setup(db, vault, programme)
    login_as(gatekeeper)
    form = visitor_form()
    form["csrf_token"] = csrf_token_from(client.get("/gate/visitors").text)
    response = client.post("/gate/visitors", data=form)
    assert response.status_code == 200
    html = response.text
    assert "准予进入" in html and "王*华" in html and form["id_number"][-4:] in html
    assert form["id_number"] not in html and form["phone"] not in html
    db.rollback()
    visitor = db.scalar(sa.select(VisitorRegistration))
    assert (visitor.enterprise_id, visitor.checkpoint_id) == (enterprise.id, gate.id)
    assert visitor.outcome == "entry_allowed"
    assert vault.decrypt(visitor.id_number_encrypted) == form["id_number"]
    assert vault.decrypt(visitor.phone_encrypted) == form["phone"]
    assert visitor.id_number_hash == vault.lookup_hash("id", form["id_number"])
    assert form["phone"] not in visitor.phone_encrypted
    assert visitor.phone_masked == form["phone"][:3] + "****" + form["phone"][-4:]


def test_a_feverish_visitor_is_refused_and_reported(client, db, vault, programme, login_as):
    _enterprise, _gate, gatekeeper, _worker = gate_setup(db, vault, programme)
    login_as(gatekeeper)
    form = visitor_form(temperature="37.3")
    form["csrf_token"] = csrf_token_from(client.get("/gate/visitors").text)
    html = client.post("/gate/visitors", data=form).text
    assert "拒绝进入" in html and "37.3" in html
    db.rollback()
    visitor = db.scalar(sa.select(VisitorRegistration))
    alert = db.scalar(sa.select(HealthAlert))
    assert visitor.outcome == "fever"
    assert (alert.visitor_id, alert.worker_id, alert.reason) == (visitor.id, None, "fever")


def test_every_bad_field_shows_its_own_error_and_nothing_is_written(client, db, vault, programme, login_as):
    _enterprise, _gate, gatekeeper, _worker = gate_setup(db, vault, programme)
    login_as(gatekeeper)
    form = {"name": "", "id_number": "110105194912310021", "phone": "12345", "reason": "", "temperature": "99",
            "csrf_token": csrf_token_from(client.get("/gate/visitors").text)}
    html = client.post("/gate/visitors", data=form).text
    for field_id, text in (("name-error", "此项必填"), ("id_number-error", "校验不符"), ("phone-error", "11位"),
                           ("reason-error", "此项必填"), ("mask-error", "此项必填"), ("temperature-error", "30")):
        assert f'id="{field_id}"' in html and text in html.split(f'id="{field_id}"')[1][:80], field_id
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(VisitorRegistration)) == 0


def test_the_enterprise_admin_may_register_visitors_too(client, db, vault, programme, login_as):
    from tests.builders import gate_of, make_user
    from wzcheckin.core.roles import Role

    enterprise, _gate, _gatekeeper, _worker = gate_setup(db, vault, programme)
    login_as(make_user(db, vault, Role.ENTERPRISE_ADMIN, checkpoint=gate_of(db, enterprise)))
    page = client.get("/gate/visitors").text
    assert "返回本企业" in page and "/scan" not in page
    form = visitor_form(mask="no", csrf_token=csrf_token_from(page))
    html = client.post("/gate/visitors", data=form).text
    assert "拒绝进入" in html and "未戴口罩" in html
