"""The data bonus (P1): who may claim, once, for which number and carrier; the worker's API and
page; correcting the carrier of a ported number."""

import pytest

from tests.benefits.builders import refusal
from tests.builders import make_id_number, make_phone, make_user, make_worker
from tests.support.clock import at
from tests.support.web import csrf_token_from
from wzcheckin.benefits import data_bonus as bonus
from wzcheckin.benefits.models import ClaimStatus
from wzcheckin.core.roles import Role

NOW = at("2021-02-05 10:00")


def test_a_retained_worker_claims_once_for_the_registered_number(db, vault, programme):
    worker = make_worker(db, vault, programme, phone=make_phone("139"))
    claim = bonus.claim_data_bonus(db, vault, programme, worker, NOW)
    assert claim.carrier == "china_mobile" and claim.carrier_derived == "china_mobile"
    assert claim.gigabytes == programme.data_bonus.gigabytes == 10
    assert claim.status is ClaimStatus.PENDING
    assert claim.phone_masked.startswith("139****") and vault.decrypt(claim.phone_encrypted).startswith("139")
    again = refusal(lambda: bonus.claim_data_bonus(db, vault, programme, worker, NOW))
    assert again.code == "already_claimed" and again.status == 409


@pytest.mark.parametrize(("prefix", "carrier"), [("186", "china_unicom"), ("189", "china_telecom"),
                                                 ("150", "china_mobile")])
def test_the_carrier_comes_from_the_number_prefix(db, vault, programme, prefix, carrier):
    worker = make_worker(db, vault, programme, phone=make_phone(prefix))
    assert bonus.claim_data_bonus(db, vault, programme, worker, NOW).carrier == carrier


def test_a_ported_number_claims_with_the_carrier_the_worker_names(db, vault, programme):
    worker = make_worker(db, vault, programme, phone=make_phone("139"))
    claim = bonus.claim_data_bonus(db, vault, programme, worker, NOW, carrier="china_telecom")
    assert (claim.carrier, claim.carrier_derived) == ("china_telecom", "china_mobile")


def test_an_unknown_prefix_needs_a_carrier_and_only_the_three_carriers_exist(db, vault, programme):
    worker = make_worker(db, vault, programme, phone=make_phone("162"))  # a virtual operator's range
    assert refusal(lambda: bonus.claim_data_bonus(db, vault, programme, worker, NOW)).code == "carrier_required"
    assert refusal(lambda: bonus.claim_data_bonus(db, vault, programme, worker, NOW,
                                                  carrier="china_broadnet")).code == "carrier_unknown"
    assert bonus.claim_data_bonus(db, vault, programme, worker, NOW, carrier="china_unicom").carrier == "china_unicom"


def test_only_pledged_workers_from_outside_wenzhou_may_claim(db, vault, programme):
    unpledged = make_worker(db, vault, programme, pledged=False)
    local_by_id = make_worker(db, vault, programme, id_number=make_id_number("330302"))
    local_by_declaration = make_worker(db, vault, programme, hukou="浙江省温州市瓯海区", id_number=make_id_number("330304"))
    for worker, why in [(unpledged, "not_pledged"), (local_by_id, "home_hukou"), (local_by_declaration, "home_hukou")]:
        refused = refusal(lambda w=worker: bonus.claim_data_bonus(db, vault, programme, w, NOW))
        assert (refused.code, refused.params["why"], refused.status) == ("not_eligible", why, 403)
        assert bonus.claim_json(None, worker) == {"status": "not_eligible"}
    assert bonus.find_claim(db, unpledged.id) is None


def test_the_worker_corrects_the_carrier_until_the_claim_is_fulfilled(db, vault, programme):
    worker = make_worker(db, vault, programme, phone=make_phone("139"))
    claim = bonus.claim_data_bonus(db, vault, programme, worker, NOW)
    claim.exported_at = NOW
    changed = bonus.change_carrier(db, worker, "china_unicom", NOW)
    assert changed.carrier == "china_unicom" and changed.exported_at is None and changed.status is ClaimStatus.PENDING
    claim.status, claim.reason = ClaimStatus.FAILED, "号码已转网"
    retried = bonus.change_carrier(db, worker, "china_telecom", NOW)
    assert retried.status is ClaimStatus.PENDING and retried.reason == ""
    claim.status = ClaimStatus.FULFILLED
    assert refusal(lambda: bonus.change_carrier(db, worker, "china_mobile", NOW)).code == "claim_settled"
    assert refusal(lambda: bonus.change_carrier(db, worker, "nope", NOW)).code == "carrier_unknown"
    other = make_worker(db, vault, programme)
    assert refusal(lambda: bonus.change_carrier(db, other, "china_mobile", NOW)).code == "not_claimed"


def test_api_claim_is_201_then_409_already_claimed(client, db, vault, programme, login_as, set_clock):
    worker = make_worker(db, vault, programme, phone=make_phone("186"))
    db.commit()
    login_as(worker.user)
    assert client.get("/api/v1/me").get_json()["data_bonus"] == {"status": "not_claimed"}
    token = csrf_token_from(client.get("/me/data-bonus").text)
    first = client.post("/api/v1/me/data-bonus", headers={"X-CSRFToken": token})
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert body["status"] == "pending" and body["carrier"] == "china_unicom" and body["gigabytes"] == 10
    assert body["phone"].startswith("186****")
    second = client.post("/api/v1/me/data-bonus", headers={"X-CSRFToken": token})
    assert second.status_code == 409 and second.get_json()["error"]["code"] == "already_claimed"
    assert client.get("/api/v1/me").get_json()["data_bonus"]["status"] == "pending"
    patched = client.patch("/api/v1/me/data-bonus", json={"carrier": "china_mobile"}, headers={"X-CSRFToken": token})
    assert patched.status_code == 200 and patched.get_json()["carrier"] == "china_mobile"
    bad = client.patch("/api/v1/me/data-bonus", json={"carrier": "x"}, headers={"X-CSRFToken": token})
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "carrier_unknown"


def test_api_refusals(client, db, vault, programme, login_as, set_clock):
    worker = make_worker(db, vault, programme, pledged=False)
    official = make_user(db, vault, Role.OFFICIAL)
    db.commit()
    assert client.post("/api/v1/me/data-bonus").status_code == 401
    login_as(worker.user)
    token = csrf_token_from(client.get("/me/data-bonus").text)
    assert client.post("/api/v1/me/data-bonus").get_json()["error"]["code"] == "csrf_failed"
    refused = client.post("/api/v1/me/data-bonus", headers={"X-CSRFToken": token})
    assert refused.status_code == 403
    assert refused.get_json()["error"] == {"code": "not_eligible", "why": "not_pledged",
                                           "message": refused.get_json()["error"]["message"]}
    assert "留温" in refused.get_json()["error"]["message"]  # Chinese by default
    unknown = client.post("/api/v1/me/data-bonus", json={"carrier": "china_mobile", "phone": "1"},
                          headers={"X-CSRFToken": token})
    assert unknown.status_code == 422 and unknown.get_json()["error"]["code"] == "unknown_field"
    login_as(official)
    assert client.post("/api/v1/me/data-bonus", headers={"X-CSRFToken": token}).status_code in (403,)


def test_the_page_claims_with_a_chosen_carrier_and_shows_the_status(client, db, vault, programme, login_as,
                                                                    set_clock):
    worker = make_worker(db, vault, programme, phone=make_phone("139"))
    db.commit()
    login_as(worker.user)
    page = client.get("/me/data-bonus")
    assert "中国移动" in page.text and "领取" in page.text
    response = client.post("/me/data-bonus",
                           data={"csrf_token": csrf_token_from(page.text), "carrier": "china_telecom"})
    assert response.status_code == 302
    after = client.get("/me/data-bonus").text
    assert "中国电信" in after and worker.user.phone_masked in after
    db.rollback()
    assert bonus.find_claim(db, worker.id).carrier == "china_telecom"
    # The form refuses a carrier outside the three, and changes nothing.
    other = make_worker(db, vault, programme)
    db.commit()
    login_as(other.user)
    page = client.get("/me/data-bonus")
    bad = client.post("/me/data-bonus", data={"csrf_token": csrf_token_from(page.text), "carrier": "x"})
    assert bad.status_code == 400
    db.rollback()
    assert bonus.find_claim(db, other.id) is None


def test_standing_reports_each_status(db, vault, programme):
    from wzcheckin.benefits.home import standing

    worker = make_worker(db, vault, programme)
    assert standing(db, worker, programme, NOW)["data_bonus"] == {"status": "not_claimed"}
    claim = bonus.claim_data_bonus(db, vault, programme, worker, NOW)
    for status in ClaimStatus:
        claim.status = status
        assert standing(db, worker, programme, NOW)["data_bonus"]["status"] == status.value


# --- the claim window and departures ----------------------------------------------------------------

def test_the_data_bonus_is_claimed_only_inside_the_programmes_claim_window(db, vault, programme):
    rules = programme.data_bonus
    assert (rules.claim_opens.isoformat(), rules.claim_closes.isoformat()) == ("2021-01-12", "2021-02-28")
    early, first_day, last_day, late = (make_worker(db, vault, programme) for _ in range(4))
    too_early = refusal(lambda: bonus.claim_data_bonus(db, vault, programme, early, at("2021-01-11 23:59")))
    assert (too_early.code, too_early.status, too_early.params["opens"]) == ("claim_not_open", 409, "2021-01-12")
    assert bonus.claim_data_bonus(db, vault, programme, first_day, at("2021-01-12 00:00")).status is ClaimStatus.PENDING
    assert bonus.claim_data_bonus(db, vault, programme, last_day, at("2021-02-28 23:59")).status is ClaimStatus.PENDING
    closed = refusal(lambda: bonus.claim_data_bonus(db, vault, programme, late, at("2021-03-01 00:00")))
    assert (closed.code, closed.status, closed.params["closes"]) == ("claim_window_closed", 409, "2021-02-28")
    assert bonus.find_claim(db, early.id) is None and bonus.find_claim(db, late.id) is None


def test_a_worker_with_a_recorded_departure_cannot_claim_until_it_is_withdrawn(db, vault, programme):
    from datetime import date

    from wzcheckin.residence.models import Departure

    worker = make_worker(db, vault, programme)
    departure = Departure(worker_id=worker.id, departed_on=date(2021, 2, 3), note="", recorded_at=at("2021-02-03 18:00"),
                          recorded_by_user_id=worker.user_id, recorded_by_role="worker")
    db.add(departure)
    db.flush()
    refused = refusal(lambda: bonus.claim_data_bonus(db, vault, programme, worker, NOW))
    assert (refused.code, refused.status) == ("departed", 409)
    assert bonus.find_claim(db, worker.id) is None
    departure.withdrawn_at = at("2021-02-04 09:00")  # recorded by mistake, withdrawn
    db.flush()
    assert bonus.claim_data_bonus(db, vault, programme, worker, NOW).status is ClaimStatus.PENDING


def test_the_api_refuses_outside_the_window_and_after_a_departure_with_409_and_the_code(client, db, vault, programme,
                                                                                         login_as, set_clock):
    from datetime import date

    from wzcheckin.residence.models import Departure

    worker, leaver = make_worker(db, vault, programme), make_worker(db, vault, programme)
    db.add(Departure(worker_id=leaver.id, departed_on=date(2021, 2, 3), note="", recorded_at=at("2021-02-03 18:00"),
                     recorded_by_user_id=leaver.user_id, recorded_by_role="worker"))
    db.commit()
    login_as(worker.user)
    token = csrf_token_from(client.get("/me/data-bonus").text)
    set_clock("2021-03-01 08:00")
    closed = client.post("/api/v1/me/data-bonus", headers={"X-CSRFToken": token})
    assert closed.status_code == 409 and closed.get_json()["error"]["code"] == "claim_window_closed"
    assert "2021-02-28" in closed.get_json()["error"]["message"]
    assert client.get("/api/v1/me").get_json()["data_bonus"] == {"status": "not_claimed",
                                                                  "blocked_by": "claim_window_closed"}
    home = client.get("/me").text
    card = home.split('id="data-bonus"')[1].split("</section>")[0]
    assert "领取截止于 2021-02-28" in card and "立即领取" not in card
    set_clock("2021-01-11 20:00")
    early = client.post("/api/v1/me/data-bonus", headers={"X-CSRFToken": token})
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "claim_not_open"
    set_clock("2021-02-05 10:00")
    login_as(leaver.user)
    token = csrf_token_from(client.get("/me/data-bonus").text)
    departed = client.post("/api/v1/me/data-bonus", headers={"X-CSRFToken": token})
    assert departed.status_code == 409 and departed.get_json()["error"]["code"] == "departed"
    assert client.get("/api/v1/me/data-bonus").get_json() == {"status": "not_claimed", "blocked_by": "departed"}
    db.rollback()
    assert bonus.find_claim(db, worker.id) is None and bonus.find_claim(db, leaver.id) is None
