"""Issue 12, item 5: an employer may withdraw only a departure it recorded itself; a worker's own
record stays; every withdrawal is shown to the worker and to officials."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests.builders import make_user, make_worker
from tests.residence.builders import make_site
from tests.residence.test_pages import post_form
from tests.support.clock import at
from wzcheckin.core.models import AuditEntry
from wzcheckin.core.roles import Role
from wzcheckin.residence.departures import active_departure, record_departure, withdraw_departure
from wzcheckin.residence.errors import ResidenceError
from wzcheckin.residence.models import Departure
from wzcheckin.residence.queries import withdrawal_page, withdrawn_departures

NOW = at("2021-02-20 09:00")


def employer_and_worker(db, vault, programme):
    site = make_site(db, vault, name="瓯江鞋业")
    worker = make_worker(db, vault, programme, enterprise=site.enterprise)
    admin = make_user(db, vault, Role.ENTERPRISE_ADMIN, checkpoint=site.gate)
    return site, worker, admin


def test_an_employer_cannot_withdraw_a_departure_the_worker_recorded(db, vault, programme):
    site, worker, admin = employer_and_worker(db, vault, programme)
    own = record_departure(db, programme, worker=worker, departed_on=date(2021, 2, 19), note="回家", actor=worker.user,
                           now=NOW)
    with pytest.raises(ResidenceError) as refused:
        withdraw_departure(db, programme, worker=worker, actor=admin, now=NOW + timedelta(milliseconds=24),
                           enterprise=site.enterprise)
    assert refused.value.code == "not_your_record"
    assert active_departure(db, worker.id).id == own.id  # the worker's record stays
    assert own.withdrawn_at is None


def test_an_employer_may_withdraw_a_departure_it_recorded_itself(db, vault, programme):
    site, worker, admin = employer_and_worker(db, vault, programme)
    record_departure(db, programme, worker=worker, departed_on=date(2021, 2, 19), note="", actor=admin, now=NOW,
                     enterprise=site.enterprise)
    # Another admin of the same enterprise corrects its record.
    colleague = make_user(db, vault, Role.ENTERPRISE_ADMIN, checkpoint=site.gate)
    withdrawn = withdraw_departure(db, programme, worker=worker, actor=colleague, now=NOW + timedelta(hours=1),
                                   enterprise=site.enterprise)
    assert withdrawn.withdrawn_by_user_id == colleague.id and active_departure(db, worker.id) is None


def test_a_new_employer_cannot_withdraw_the_previous_employers_record(db, vault, programme):
    site, worker, admin = employer_and_worker(db, vault, programme)
    record_departure(db, programme, worker=worker, departed_on=date(2021, 2, 19), note="", actor=admin, now=NOW,
                     enterprise=site.enterprise)
    new_site = make_site(db, vault, name="新东家")
    worker.enterprise_id = new_site.enterprise.id
    db.flush()
    new_admin = make_user(db, vault, Role.ENTERPRISE_ADMIN, checkpoint=new_site.gate)
    with pytest.raises(ResidenceError, match="not_your_record"):
        withdraw_departure(db, programme, worker=worker, actor=new_admin, now=NOW, enterprise=new_site.enterprise)


def test_the_worker_may_still_withdraw_their_own_record(db, vault, programme):
    _site, worker, _admin = employer_and_worker(db, vault, programme)
    record_departure(db, programme, worker=worker, departed_on=date(2021, 2, 19), note="", actor=worker.user, now=NOW)
    withdrawn = withdraw_departure(db, programme, worker=worker, actor=worker.user, now=NOW + timedelta(minutes=5))
    assert withdrawn.withdrawn_by_user_id == worker.user_id
    audit = db.scalars(sa.select(AuditEntry).where(AuditEntry.action == "residence.departure.withdraw")).one()
    assert audit.details["recorded_by"] == "worker"


def test_a_withdrawal_is_listed_for_the_worker_with_who_withdrew_it_and_when(db, vault, programme):
    site, worker, admin = employer_and_worker(db, vault, programme)
    record_departure(db, programme, worker=worker, departed_on=date(2021, 2, 15), note="", actor=admin, now=NOW,
                     enterprise=site.enterprise)
    withdraw_departure(db, programme, worker=worker, actor=admin, now=NOW + timedelta(hours=2),
                       enterprise=site.enterprise)
    [shown] = withdrawn_departures(db, worker.id)
    assert (shown.departed_on, shown.recorded_by, shown.withdrawn_by) == (date(2021, 2, 15), "enterprise_admin",
                                                                          "enterprise_admin")
    assert shown.withdrawn_at == NOW + timedelta(hours=2)
    assert shown.withdrawn_by_enterprise == "瓯江鞋业"
    assert withdrawn_departures(db, make_worker(db, vault, programme).id) == []


def test_officials_see_every_withdrawal_and_can_pick_out_those_by_someone_other_than_the_recorder(db, vault,
                                                                                                   programme):
    site, worker, admin = employer_and_worker(db, vault, programme)
    other = make_worker(db, vault, programme, enterprise=site.enterprise)
    # Before this rule an employer could withdraw a worker's own record: such rows stand out.
    db.add(Departure(worker_id=worker.id, departed_on=date(2021, 2, 10), note="", recorded_at=NOW,
                     recorded_by_user_id=worker.user_id, recorded_by_role="worker",
                     withdrawn_at=NOW + timedelta(milliseconds=24), withdrawn_by_user_id=admin.id))
    record_departure(db, programme, worker=other, departed_on=date(2021, 2, 19), note="", actor=other.user, now=NOW)
    withdraw_departure(db, programme, worker=other, actor=other.user, now=NOW + timedelta(hours=1))
    everything = withdrawal_page(db)
    assert everything.total == 2
    assert [w.worker_id for w in everything.items] == [other.id, worker.id]  # newest withdrawal first
    suspicious = withdrawal_page(db, withdrawn_by="someone_else").items
    assert [(w.worker_id, w.recorded_by, w.withdrawn_by) for w in suspicious] == [
        (worker.id, "worker", "enterprise_admin")]
    assert [w.worker_id for w in withdrawal_page(db, withdrawn_by="worker").items] == [other.id]


def test_the_employer_page_refuses_to_withdraw_a_workers_own_record(db, vault, programme, client, login_as,
                                                                   set_clock):
    set_clock("2021-02-20 09:00")
    _site, worker, admin = employer_and_worker(db, vault, programme)
    record_departure(db, programme, worker=worker, departed_on=date(2021, 2, 19), note="", actor=worker.user,
                     now=at("2021-02-20 08:00"))
    db.commit()
    login_as(admin)
    url = f"/enterprise/workers/{worker.id}/departure"
    page = client.get(url)
    assert "只有职工本人可以撤回" in page.text and 'value="withdraw"' not in page.text
    refused = post_form(client, url, {"action": "withdraw"})
    assert refused.status_code == 200 and "不能撤回" in refused.text
    db.rollback()
    assert active_departure(db, worker.id) is not None


def test_the_worker_sees_on_their_home_page_that_their_employer_withdrew_a_record(db, vault, programme, client,
                                                                                  login_as, set_clock):
    set_clock("2021-02-20 09:00")
    site, worker, admin = employer_and_worker(db, vault, programme)
    record_departure(db, programme, worker=worker, departed_on=date(2021, 2, 15), note="", actor=admin,
                     now=at("2021-02-16 08:00"), enterprise=site.enterprise)
    withdraw_departure(db, programme, worker=worker, actor=admin, now=at("2021-02-17 10:30"), enterprise=site.enterprise)
    db.commit()
    login_as(worker.user)
    home = client.get("/me").text
    assert "已由您的雇主 瓯江鞋业于" in home and "2021" in home
    assert "已撤回的记录" in client.get("/me/departure").text
    standing = client.get("/api/v1/me").get_json()
    assert standing["withdrawn_departures"] == [{"departed_on": "2021-02-15", "recorded_by": "enterprise_admin",
                                                 "withdrawn_at": at("2021-02-17 10:30").isoformat(),
                                                 "withdrawn_by": "enterprise_admin"}]


def test_the_officials_desk_lists_withdrawals_masked_and_others_may_not_see_it(db, vault, programme, client,
                                                                               login_as):
    site, worker, admin = employer_and_worker(db, vault, programme)
    record_departure(db, programme, worker=worker, departed_on=date(2021, 2, 15), note="", actor=admin, now=NOW,
                     enterprise=site.enterprise)
    withdraw_departure(db, programme, worker=worker, actor=admin, now=NOW + timedelta(hours=1),
                       enterprise=site.enterprise)
    official = make_user(db, vault, Role.OFFICIAL)
    db.commit()
    login_as(admin)
    assert client.get("/official/residence/withdrawals").status_code == 403
    login_as(official)
    page = client.get("/official/residence/withdrawals?withdrawn_by=enterprise_admin")
    assert page.status_code == 200
    assert "*" * 14 + worker.id_number_tail in page.text and "瓯江鞋业" in page.text
    assert worker.name not in page.text
    assert "共 1 条" in page.text
    assert "共 0 条" in client.get("/official/residence/withdrawals?withdrawn_by=worker").text
