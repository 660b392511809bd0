"""Gate entry with the P9 checks: every reason code, health alerts, evidence."""

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.builders import gate_of, make_enterprise, make_user, make_worker
from tests.scanning.builders import gate_setup, pass_token
from tests.support.clock import at
from wzcheckin.codes.passes import issue_paper_pass
from wzcheckin.codes.tokens import TokenKind
from wzcheckin.core.roles import Role
from wzcheckin.enterprises.gates import entry_refusal
from wzcheckin.enterprises.models import HealthAlert
from wzcheckin.scanning.models import Scan
from wzcheckin.scanning.services import ScanInput, record_scan

NOW = at("2021-02-05 08:00")


def scan_at_gate(db, keyring, programme, gatekeeper, token, now=NOW, **checks):
    checks.setdefault("mask", True)
    checks.setdefault("temperature", Decimal("36.5"))
    data = ScanInput(token=token, **checks)
    return record_scan(db, staff=gatekeeper, checkpoint=gatekeeper.checkpoint, data=data, keyring=keyring,
                       programme=programme, now=now).scan


def test_an_employee_with_mask_and_normal_temperature_enters_and_it_is_evidence(db, vault, programme, keyring):
    _enterprise, gate, gatekeeper, worker = gate_setup(db, vault, programme)
    scan = scan_at_gate(db, keyring, programme, gatekeeper, pass_token(worker, keyring, programme, NOW))
    assert (scan.result, scan.reason, scan.is_evidence) == ("accepted", "entry_allowed", True)
    assert scan.worker_id == worker.id and scan.checkpoint_id == gate.id and scan.staff_user_id == gatekeeper.id
    assert scan.subject["name"] == worker.name[0] + "*" * (len(worker.name) - 2) + worker.name[-1]
    assert scan.temperature == Decimal("36.5") and scan.mask is True


def test_a_paper_pass_works_at_the_gate(db, vault, programme, keyring):
    _enterprise, _gate, gatekeeper, worker = gate_setup(db, vault, programme)
    _paper, issued = issue_paper_pass(db, worker, keyring, programme, NOW - timedelta(days=3))
    assert scan_at_gate(db, keyring, programme, gatekeeper, issued.token).reason == "entry_allowed"


def test_another_enterprises_worker_is_refused_as_not_employee(db, vault, programme, keyring):
    _enterprise, _gate, gatekeeper, _worker = gate_setup(db, vault, programme)
    stranger = make_worker(db, vault, programme, enterprise=make_enterprise(db, vault))
    unemployed = make_worker(db, vault, programme)
    for person in (stranger, unemployed):
        scan = scan_at_gate(db, keyring, programme, gatekeeper, pass_token(person, keyring, programme, NOW))
        assert (scan.result, scan.reason, scan.is_evidence) == ("rejected", "not_employee", False)
        assert scan.subject["enterprise"] is None  # the gate is not told where they work


@pytest.mark.parametrize(("checks", "reason"), [
    ({"mask": False}, "no_mask"),
    ({"temperature": Decimal("37.3")}, "fever"),          # the threshold itself is refused
    ({"temperature": Decimal("39.0"), "mask": False}, "fever"),  # fever outranks no mask
    ({"symptoms": True}, "symptoms"),
    ({"temperature": None}, "checks_missing"),
    ({"mask": None}, "checks_missing"),
])
def test_entry_checks_refuse_with_their_reason(db, vault, programme, keyring, checks, reason):
    _enterprise, _gate, gatekeeper, worker = gate_setup(db, vault, programme)
    scan = scan_at_gate(db, keyring, programme, gatekeeper, pass_token(worker, keyring, programme, NOW), **checks)
    assert (scan.result, scan.reason, scan.is_evidence) == ("rejected", reason, False)


def test_just_below_the_fever_threshold_enters(db, vault, programme, keyring):
    _enterprise, _gate, gatekeeper, worker = gate_setup(db, vault, programme)
    scan = scan_at_gate(db, keyring, programme, gatekeeper, pass_token(worker, keyring, programme, NOW),
                        temperature=Decimal("37.2"))
    assert scan.reason == "entry_allowed"


def test_fever_and_symptoms_raise_an_alert_other_refusals_do_not(db, vault, programme, keyring):
    enterprise, gate, gatekeeper, worker = gate_setup(db, vault, programme)
    token = pass_token(worker, keyring, programme, NOW)
    scan_at_gate(db, keyring, programme, gatekeeper, token, mask=False)
    scan_at_gate(db, keyring, programme, gatekeeper, token, temperature=None)
    assert db.scalar(sa.select(sa.func.count()).select_from(HealthAlert)) == 0
    fever = scan_at_gate(db, keyring, programme, gatekeeper, token, temperature=Decimal("38.1"))
    scan_at_gate(db, keyring, programme, gatekeeper, token, symptoms=True)
    alerts = db.scalars(sa.select(HealthAlert).order_by(HealthAlert.id)).all()
    assert [(a.reason, a.temperature) for a in alerts] == [("fever", Decimal("38.1")), ("symptoms", Decimal("36.5"))]
    assert alerts[0].enterprise_id == enterprise.id and alerts[0].checkpoint_id == gate.id
    assert alerts[0].worker_id == worker.id and alerts[0].scan_id == fever.scan_id
    assert alerts[0].person_masked == fever.subject["name"]
    assert fever.details["temperature"] == "38.1"


def test_a_replayed_fever_scan_raises_no_second_alert(db, vault, programme, keyring):
    _enterprise, _gate, gatekeeper, worker = gate_setup(db, vault, programme)
    token = pass_token(worker, keyring, programme, NOW)
    data = ScanInput(token=token, scan_id="fever-replay-1", mask=True, temperature=Decimal("38.0"))
    for _ in range(2):
        record_scan(db, staff=gatekeeper, checkpoint=gatekeeper.checkpoint, data=data, keyring=keyring,
                    programme=programme, now=NOW)
    assert db.scalar(sa.select(sa.func.count()).select_from(HealthAlert)) == 1
    assert db.scalar(sa.select(sa.func.count()).select_from(Scan)) == 1


def test_a_reservation_code_at_the_gate_is_the_wrong_kind(db, vault, programme, keyring):
    _enterprise, _gate, gatekeeper, _worker = gate_setup(db, vault, programme)
    reservation = keyring.sign(TokenKind.RESERVATION, "00112233aabbccdd", NOW + timedelta(hours=1), issued_at=NOW)
    scan = scan_at_gate(db, keyring, programme, gatekeeper, reservation)
    assert (scan.result, scan.reason, scan.token_kind) == ("rejected", "wrong_kind", "reservation")


def test_fever_threshold_comes_from_the_programme(programme):
    stricter = programme.model_copy(update={"entry_checks": programme.entry_checks.model_copy(
        update={"fever_celsius": 37.0})})
    assert entry_refusal(stricter, mask=True, temperature=Decimal("37.0"), symptoms=False)[0] == "fever"
    assert entry_refusal(programme, mask=True, temperature=Decimal("37.0"), symptoms=False) is None


def test_gate_scan_through_the_api_answers_in_the_callers_language(client, db, vault, programme, keyring):
    from tests.scanning.builders import bearer, post_scan
    from wzcheckin import clock

    _enterprise, _gate, gatekeeper, worker = gate_setup(db, vault, programme)
    headers = bearer(db, gatekeeper, clock.now())
    token = pass_token(worker, keyring, programme, clock.now())
    db.commit()
    zh = post_scan(client, headers, token, mask=True, temperature=37.5).get_json()
    assert (zh["result"], zh["reason"]) == ("rejected", "fever")
    assert zh["message"].startswith("体温 37.5")
    en = post_scan(client, {**headers, "Accept-Language": "en"}, token, mask=True, temperature=36.4).get_json()
    assert (en["result"], en["message"]) == ("accepted", "Entry allowed.")
    assert en["subject"]["type"] == "worker"


def test_gatekeepers_of_other_kinds_of_checkpoint_cannot_be_made(db, vault):
    from wzcheckin.accounts.staff import create_or_update_staff
    from wzcheckin.core.refusals import Refusal

    enterprise = make_enterprise(db, vault)
    with pytest.raises(Refusal):
        create_or_update_staff(db, vault, role=Role.PICKUP_STAFF, phone_raw="13700001111", password="long-enough-1",
                               now=NOW, checkpoint_ref=gate_of(db, enterprise).ref)
    gatekeeper = make_user(db, vault, Role.GATEKEEPER, checkpoint=gate_of(db, enterprise))
    assert gatekeeper.checkpoint.enterprise_id == enterprise.id
