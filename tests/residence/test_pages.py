"""The residence pages, for each role, on a simulated clock: a worker's departure, the enterprise's
preview, snapshot and application, the officials' review pages, and who may see what."""

from datetime import date

import sqlalchemy as sa

from tests.builders import make_user, make_worker
from tests.residence.builders import bulk_workers, make_site
from tests.support.clock import at
from tests.support.web import csrf_token_from
from wzcheckin.core.models import AuditEntry
from wzcheckin.core.roles import Role
from wzcheckin.residence.models import Departure, SmsMessage, SubsidyApplication


def audit_actions(db):
    db.rollback()
    return [entry.action for entry in db.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))]


def post_form(client, url, data, page_url=None):
    token = csrf_token_from(client.get(page_url or url).text)
    return client.post(url, data={"csrf_token": token, **data})


def test_a_worker_records_and_withdraws_a_departure_before_the_cutoff_only(db, vault, programme, client, login_as,
                                                                           set_clock):
    set_clock("2021-02-20 09:00")
    worker = make_worker(db, vault, programme)
    login_as(worker.user)
    page = client.get("/me/departure")
    assert page.status_code == 200 and "登记我的离温" in page.text
    future = post_form(client, "/me/departure", {"departed_on": "2021-02-21"})
    assert future.status_code == 200 and "日期不能是将来" in future.text
    recorded = post_form(client, "/me/departure", {"departed_on": "2021-02-19", "note": "回家"})
    assert recorded.status_code == 302
    home = client.get("/me")
    assert "2021" in home.text and "/me/departure" in home.text
    assert client.get("/api/v1/me").get_json()["departure"] == {"departed_on": "2021-02-19"}
    assert post_form(client, "/me/departure", {"action": "withdraw"}).status_code == 302
    db.rollback()
    assert db.scalar(sa.select(Departure.withdrawn_at)) is not None
    set_clock("2021-03-01 00:00")
    closed = post_form(client, "/me/departure", {"departed_on": "2021-02-19"})
    assert closed.status_code == 200 and "截止" in closed.text
    assert audit_actions(db) == ["residence.departure.record", "residence.departure.withdraw"]


def test_the_enterprise_sees_its_projection_and_records_departures_for_its_roster_only(db, vault, programme, client,
                                                                                       login_as, set_clock):
    set_clock("2021-02-14 09:00")
    site, other = make_site(db, vault, name="瓯江鞋业"), make_site(db, vault, name="别家")
    bulk_workers(db, vault, site, 50, windows=(0, 1))
    behind = bulk_workers(db, vault, site, 3, windows=(1,))          # missed the first window: out
    needs_scan = bulk_workers(db, vault, site, 2, windows=(0,))      # on track, no scan yet this window
    stranger = bulk_workers(db, vault, other, 1)[0]
    admin = make_user(db, vault, Role.ENTERPRISE_ADMIN, checkpoint=site.gate)
    login_as(admin)
    page = client.get("/enterprise/retention")
    assert page.status_code == 200
    assert "52" in page.text and "¥50,000" in page.text
    assert page.text.count('class="roster-row"') == len(behind) + len(needs_scan)
    api = client.get("/api/v1/enterprise/retention").get_json()
    assert (api["stage"], api["projected_retained"], api["projected_tier"], api["needs_scan_now"]) == (
        "preview", 52, 50, 2)
    url = f"/enterprise/workers/{needs_scan[0]}/departure"
    assert post_form(client, url, {"departed_on": "2021-02-13"}).status_code == 302
    assert client.get(f"/enterprise/workers/{stranger}/departure").status_code == 404
    assert client.get("/api/v1/enterprise/retention").get_json()["projected_retained"] == 51
    assert client.get("/official/residence").status_code == 403
    assert audit_actions(db) == ["residence.departure.record"]


def test_after_the_cutoff_the_enterprise_applies_and_officials_decide_and_pay(db, vault, programme, client, login_as,
                                                                              set_clock, cutoff, app):
    site = make_site(db, vault, name="瓯江鞋业")
    small = make_site(db, vault, name="小厂")
    bulk_workers(db, vault, site, 100)
    bulk_workers(db, vault, small, 10)
    admin = make_user(db, vault, Role.ENTERPRISE_ADMIN, checkpoint=site.gate)
    small_admin = make_user(db, vault, Role.ENTERPRISE_ADMIN, checkpoint=small.gate)
    official = make_user(db, vault, Role.HR_OFFICIAL)         # P7 is 人社局's to decide
    second_official = make_user(db, vault, Role.HR_OFFICIAL)
    db.commit()
    login_as(admin)
    assert "No snapshot yet: the cutoff is on" in client.get("/enterprise/retention",
                                                             headers={"Accept-Language": "en"}).text
    cutoff()
    page = client.get("/enterprise/retention")
    assert "¥100,000" in page.text
    assert post_form(client, "/enterprise/retention/apply", {}, "/enterprise/retention").status_code == 302
    again = client.post("/api/v1/enterprise/subsidy-application",
                        headers={"X-CSRFToken": csrf_token_from(client.get("/enterprise/retention").text)})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_applied"
    login_as(small_admin)
    refused = client.post("/api/v1/enterprise/subsidy-application",
                          headers={"X-CSRFToken": csrf_token_from(client.get("/enterprise/retention").text)})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "not_qualified"

    login_as(official)
    listing = client.get("/official/residence/applications")
    assert "瓯江鞋业" in listing.text
    application = db.scalar(sa.select(SubsidyApplication))
    url = f"/official/residence/applications/{application.id}"
    no_reason = post_form(client, url, {"action": "decide", "reject": "1", "reason": ""},
                          "/official/residence/applications")
    assert no_reason.status_code == 302
    db.rollback()
    assert db.get(SubsidyApplication, application.id).status.value == "applied"
    db.rollback()   # end the read before requests write (SQLite: a stale snapshot cannot write later)
    # Money is approved in the review queue only: the old button sends the official there.
    sent = post_form(client, url, {"action": "decide", "approve": "1"}, "/official/residence/applications")
    assert sent.status_code == 302 and sent.headers["Location"].endswith(f"/official/review/P7/{application.id}")
    db.rollback()
    assert db.get(SubsidyApplication, application.id).status.value == "applied"
    # ¥100,000 is above the programme's second-approval amount: two officials approve.
    queue_url = f"/official/review/P7/{application.id}"
    db.rollback()
    assert post_form(client, queue_url, {"action": "approve"}).status_code == 302
    db.rollback()
    login_as(second_official)
    assert post_form(client, queue_url, {"action": "approve"}).status_code == 302
    db.rollback()
    assert db.get(SubsidyApplication, application.id).status.value == "approved"
    assert post_form(client, url, {"action": "paid", "reference": "HR-2021-0001"},
                     "/official/residence/applications").status_code == 302
    db.rollback()
    login_as(admin)
    assert client.get("/api/v1/enterprise/retention").get_json()["application"]["status"] == "paid"
    assert "HR-2021-0001" in client.get("/enterprise/retention").text
    actions = audit_actions(db)
    assert actions[-1] == "residence.subsidy.paid"
    assert actions.index("residence.subsidy.apply") < actions.index("residence.subsidy.approved")
    assert actions.count("review.approve") == 2  # each official's approval, audited
    assert "residence.snapshot.official" in actions


def test_officials_read_the_snapshot_workers_and_outbox_masked(db, vault, programme, client, login_as, cutoff):
    site = make_site(db, vault, name="瓯江鞋业", district="乐清市")
    worker = make_worker(db, vault, programme, enterprise=site.enterprise, name="欧阳娜娜", pledged=False)
    bulk_workers(db, vault, site, 50)
    official = make_user(db, vault, Role.OFFICIAL)
    db.commit()
    login_as(official)
    empty = client.get("/official/residence", headers={"Accept-Language": "en"})
    assert "No snapshot yet: the cutoff is on" in empty.text
    cutoff()
    overview = client.get("/official/residence")
    assert overview.status_code == 200 and "乐清市" in overview.text and "¥50,000" in overview.text
    workers = client.get("/official/residence/workers?reason=not_pledged")
    assert "欧**娜" in workers.text and "欧阳娜娜" not in workers.text
    assert workers.text.count('class="roster-row"') == 1
    assert "**************" + worker.id_number_tail in workers.text
    enterprises = client.get(f"/official/residence/enterprises?q={site.enterprise.credit_code}")
    assert "¥50,000" in enterprises.text
    outbox = client.get("/official/residence/sms")
    message = db.scalar(sa.select(SmsMessage))
    assert outbox.status_code == 200 and message.body[:10] in outbox.text
    api = client.get("/api/v1/residence/headcounts").get_json()
    assert api == [{"credit_code": site.enterprise.credit_code, "name": "瓯江鞋业", "ownership": "private",
                    "retained": 50, "tier": 50, "amount_yuan": 50000}]


def test_the_worker_learns_the_result_after_the_cutoff(db, vault, programme, client, login_as, set_clock, cutoff):
    from tests.residence.builders import add_scan

    site = make_site(db, vault)
    stayed = make_worker(db, vault, programme, enterprise=site.enterprise, permit="ZJ3303009",
                         permit_expiry=date(2022, 1, 1))
    missed = make_worker(db, vault, programme, enterprise=site.enterprise)
    for when in ("2021-02-05 09:00", "2021-02-13 09:00", "2021-02-22 09:00"):
        add_scan(db, stayed.id, site.gate, site.staff, at(when))
    db.commit()
    set_clock("2021-02-28 23:00")
    login_as(stayed.user)
    assert client.get("/api/v1/me").get_json()["confirmed"] is None
    set_clock("2021-03-01 00:05")
    assert client.get("/api/v1/me").get_json()["confirmed"] is None     # the cutoff has not run yet
    cutoff()
    body = client.get("/api/v1/me").get_json()
    assert (body["confirmed"], body["confirmation_reason"], body["points"]) == (True, "confirmed", 5)
    assert "谢谢" in client.get("/me").text
    login_as(missed.user)
    assert client.get("/api/v1/me").get_json()["confirmed"] is False
    assert "节前" in client.get("/me").text
