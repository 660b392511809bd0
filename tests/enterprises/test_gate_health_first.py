"""Issue 12, item 6: at the gate the health check comes before the employee check; the fever
threshold compares the reading as given (no rounding first) and the alert stores it; a
non-finite temperature is refused with a stable code, never a 500."""

from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.builders import make_enterprise, make_worker
from tests.enterprises.test_gate import NOW, scan_at_gate
from tests.enterprises.test_visitors import visitor_form
from tests.scanning.builders import bearer, gate_setup, pass_token, post_scan
from tests.support.web import csrf_token_from
from wzcheckin.enterprises.gates import parse_temperature
from wzcheckin.enterprises.models import HealthAlert, VisitorRegistration
from wzcheckin.scanning.models import Scan


def alerts(db):
    return db.scalars(sa.select(HealthAlert).order_by(HealthAlert.id)).all()


def test_a_non_employee_with_fever_is_refused_for_fever_and_reported(db, vault, programme, keyring):
    enterprise, gate, gatekeeper, _employee = gate_setup(db, vault, programme)
    other_employer = make_enterprise(db, vault, name="别家鞋厂")
    outsider = make_worker(db, vault, programme, enterprise=other_employer)
    scan = scan_at_gate(db, keyring, programme, gatekeeper, pass_token(outsider, keyring, programme, NOW),
                        temperature=Decimal("38.4"))
    assert (scan.result, scan.reason) == ("rejected", "fever")
    [alert] = alerts(db)
    assert (alert.reason, alert.temperature, alert.worker_id) == ("fever", Decimal("38.4"), outsider.id)
    # The alert belongs to the gate where they stood, and nothing shown names their employer.
    assert (alert.enterprise_id, alert.checkpoint_id, alert.scan_id) == (enterprise.id, gate.id, scan.scan_id)
    assert scan.subject == {"type": "worker", "name": alert.person_masked, "enterprise": None}
    assert "别家鞋厂" not in str(scan.details)


def test_a_non_employee_with_symptoms_is_refused_for_symptoms_and_reported(db, vault, programme, keyring):
    enterprise, _gate, gatekeeper, _employee = gate_setup(db, vault, programme)
    unemployed = make_worker(db, vault, programme)
    scan = scan_at_gate(db, keyring, programme, gatekeeper, pass_token(unemployed, keyring, programme, NOW),
                        symptoms=True)
    assert (scan.result, scan.reason, scan.subject["enterprise"]) == ("rejected", "symptoms", None)
    assert [(a.reason, a.enterprise_id, a.worker_id) for a in alerts(db)] == [("symptoms", enterprise.id, unemployed.id)]


def test_a_healthy_non_employee_is_still_sent_to_visitor_registration_and_not_reported(db, vault, programme, keyring):
    _enterprise, _gate, gatekeeper, _employee = gate_setup(db, vault, programme)
    outsider = make_worker(db, vault, programme, enterprise=make_enterprise(db, vault))
    token = pass_token(outsider, keyring, programme, NOW)
    for checks in ({"temperature": Decimal("37.29")}, {"mask": False}, {"temperature": None}):
        scan = scan_at_gate(db, keyring, programme, gatekeeper, token, **checks)
        assert (scan.reason, scan.subject["enterprise"]) == ("not_employee", None)
    assert alerts(db) == []


@pytest.mark.parametrize(("reading", "reason"), [
    (Decimal("37.25"), "entry_allowed"),   # below 37.3: never rounded up to it
    (Decimal("37.29"), "entry_allowed"),
    (Decimal("37.3"), "fever"),            # at the threshold
    (Decimal("37.30"), "fever"),
])
def test_the_fever_threshold_compares_the_reading_as_given(db, vault, programme, keyring, reading, reason):
    _enterprise, _gate, gatekeeper, worker = gate_setup(db, vault, programme)
    scan = scan_at_gate(db, keyring, programme, gatekeeper, pass_token(worker, keyring, programme, NOW),
                        temperature=reading)
    assert scan.reason == reason


def test_through_the_api_37_25_enters_37_3_is_refused_and_the_alert_stores_the_reading(client, db, vault, programme,
                                                                                     keyring):
    from wzcheckin import clock

    _enterprise, _gate, gatekeeper, worker = gate_setup(db, vault, programme)
    headers = bearer(db, gatekeeper, clock.now())
    token = pass_token(worker, keyring, programme, clock.now())
    db.commit()
    below = post_scan(client, headers, token, mask=True, temperature=37.25).get_json()
    assert (below["result"], below["reason"]) == ("accepted", "entry_allowed")
    at_threshold = post_scan(client, headers, token, mask=True, temperature=37.3).get_json()
    assert (at_threshold["result"], at_threshold["reason"]) == ("rejected", "fever")
    feverish = post_scan(client, headers, token, mask=True, temperature=38.35).get_json()
    assert feverish["message"].startswith("体温 38.35")
    db.rollback()
    assert db.scalar(sa.select(Scan.temperature).where(Scan.scan_id == below["scan_id"])) == Decimal("37.25")
    assert [a.temperature for a in alerts(db)] == [Decimal("37.3"), Decimal("38.35")]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_non_finite_temperature_is_a_400_with_a_stable_code(client, db, vault, programme, keyring, literal):
    from wzcheckin import clock

    _enterprise, _gate, gatekeeper, worker = gate_setup(db, vault, programme)
    headers = bearer(db, gatekeeper, clock.now())
    token = pass_token(worker, keyring, programme, clock.now())
    db.commit()
    # Python's json reads these non-standard literals; a JSON library would never send them.
    body = f'{{"token": "{token}", "mask": true, "temperature": {literal}}}'
    for language, words in (("zh-CN", "NaN 和 Infinity"), ("en", "must be finite")):
        response = client.post("/api/v1/scans", data=body, headers={**headers, "Accept-Language": language},
                               content_type="application/json")
        assert response.status_code == 400
        error = response.get_json()["error"]
        assert error["code"] == "non_finite_number" and words in error["message"]
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(Scan)) == 0


def test_a_temperature_with_more_than_two_decimals_is_refused_not_rounded(client, db, vault, programme, keyring):
    from wzcheckin import clock

    _enterprise, _gate, gatekeeper, worker = gate_setup(db, vault, programme)
    headers = bearer(db, gatekeeper, clock.now())
    token = pass_token(worker, keyring, programme, clock.now())
    db.commit()
    response = post_scan(client, headers, token, mask=True, temperature=37.295)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_temperature"


@pytest.mark.parametrize(("raw", "expected"), [("37.25", Decimal("37.25")), ("37,3", Decimal("37.3")),
                                               ("36", Decimal("36"))])
def test_the_visitor_form_reads_the_temperature_as_given(raw, expected):
    value = parse_temperature(raw)
    assert value == expected and str(value) == str(expected)


@pytest.mark.parametrize(("raw", "code"), [("NaN", "temperature_format"), ("Infinity", "temperature_format"),
                                           ("37.255", "temperature_precision"), ("29.99", "temperature_range")])
def test_the_visitor_form_refuses_what_is_no_reading(raw, code):
    with pytest.raises(ValueError, match=code):
        parse_temperature(raw)


def test_a_visitor_at_37_25_enters_and_at_37_3_is_refused_and_reported(client, db, vault, programme, login_as):
    _enterprise, _gate, gatekeeper, _worker = gate_setup(db, vault, programme)
    login_as(gatekeeper)
    for reading in ("37.25", "37.3"):
        form = visitor_form(temperature=reading)
        form["csrf_token"] = csrf_token_from(client.get("/gate/visitors").text)
        client.post("/gate/visitors", data=form)
    db.rollback()
    visitors = db.scalars(sa.select(VisitorRegistration).order_by(VisitorRegistration.id)).all()
    assert [(v.temperature, v.outcome) for v in visitors] == [(Decimal("37.25"), "entry_allowed"),
                                                              (Decimal("37.3"), "fever")]
    assert [(a.visitor_id, a.temperature) for a in alerts(db)] == [(visitors[1].id, Decimal("37.3"))]
