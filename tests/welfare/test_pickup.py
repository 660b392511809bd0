"""Welfare-pack pickup (P3): one pack per worker across all points, ever; stock; eligibility;
staff confirmation; the worker's standing; who collected when and where."""

from datetime import timedelta

import sqlalchemy as sa

from tests.builders import make_enterprise, make_unique_id_number, make_worker
from tests.scanning.builders import bearer, pass_token, post_scan
from tests.support.clock import at
from tests.welfare.builders import make_pickup_point, make_pickup_staff
from wzcheckin import clock
from wzcheckin.codes.passes import issue_paper_pass
from wzcheckin.scanning.services import ScanInput, record_scan
from wzcheckin.welfare.home import standing
from wzcheckin.welfare.models import PackHandout, PickupPoint
from wzcheckin.welfare.services import collections, hand_out_pack

NOW = at("2021-02-06 10:00")


def pickup(db, keyring, programme, staff, token, now=NOW, scan_id=None):
    return record_scan(db, staff=staff, checkpoint=staff.checkpoint, data=ScanInput(token=token, scan_id=scan_id),
                       keyring=keyring, programme=programme, now=now).scan


def test_a_pledged_non_local_worker_gets_one_pack_and_the_stock_goes_down(db, vault, programme, keyring):
    point = make_pickup_point(db, stock=3, name="五马街道")
    staff = make_pickup_staff(db, vault, point)
    worker = make_worker(db, vault, programme, enterprise=make_enterprise(db, vault))
    scan = pickup(db, keyring, programme, staff, pass_token(worker, keyring, programme, NOW))
    assert (scan.result, scan.reason, scan.is_evidence) == ("accepted", "pack_handed_out", True)
    assert scan.subject["pickup_point"] == "五马街道"
    db.refresh(point)
    assert (point.stock, point.handed_out, point.delivered) == (2, 1, 3)
    handout = db.scalar(sa.select(PackHandout))
    assert (handout.worker_id, handout.scan_id, handout.handed_out_at) == (worker.id, scan.scan_id, NOW)
    assert standing(db, worker, programme, NOW) == {"welfare_pack": "collected"}


def test_a_second_pack_is_refused_anywhere_with_when_and_where(client, db, vault, programme, keyring):
    first_point = make_pickup_point(db, stock=5, name="娄桥新居民服务站")
    second_point = make_pickup_point(db, stock=5)
    worker = make_worker(db, vault, programme)
    first = pickup(db, keyring, programme, make_pickup_staff(db, vault, first_point),
                   pass_token(worker, keyring, programme, NOW))
    assert first.reason == "pack_handed_out"
    _paper, paper = issue_paper_pass(db, worker, keyring, programme, NOW)
    later = NOW + timedelta(days=1)
    staff = make_pickup_staff(db, vault, second_point)
    again = pickup(db, keyring, programme, staff, paper.token, now=later)
    assert (again.result, again.reason) == ("rejected", "already_collected")
    assert again.details == {"when_at": NOW.isoformat(), "where": "娄桥新居民服务站"}
    db.refresh(second_point)
    assert second_point.stock == 5
    # The message says when (Wenzhou time) and where, in the caller's language.
    headers = bearer(db, staff, clock.now())  # tokens expire: issued on the real clock the request runs on
    db.commit()
    body = post_scan(client, headers, paper.token, scan_id=again.scan_id).get_json()
    assert body["replayed"] and body["reason"] == "already_collected"
    assert "娄桥新居民服务站" in body["message"] and "10:00" in body["message"]


def test_out_of_stock(db, vault, programme, keyring):
    point = make_pickup_point(db, stock=1)
    staff = make_pickup_staff(db, vault, point)
    first, second = make_worker(db, vault, programme), make_worker(db, vault, programme)
    assert pickup(db, keyring, programme, staff, pass_token(first, keyring, programme, NOW)).reason == "pack_handed_out"
    refused = pickup(db, keyring, programme, staff, pass_token(second, keyring, programme, NOW))
    assert (refused.result, refused.reason, refused.is_evidence) == ("rejected", "out_of_stock", False)
    assert db.scalar(sa.select(PickupPoint.stock).where(PickupPoint.id == point.id)) == 0
    assert db.scalar(sa.select(sa.func.count()).select_from(PackHandout)) == 1


def test_not_eligible_without_a_pledge_or_with_a_wenzhou_hukou(client, db, vault, programme, keyring):
    point = make_pickup_point(db, stock=5)
    staff = make_pickup_staff(db, vault, point)
    no_pledge = make_worker(db, vault, programme, pledged=False)
    local = make_worker(db, vault, programme, hukou="浙江省温州市鹿城区", id_number=make_unique_id_number("330302"))
    assert local.hukou_is_home
    answers = {}
    headers = bearer(db, staff, clock.now())
    tokens = {name: pass_token(w, keyring, programme, clock.now()) for name, w in (("no_pledge", no_pledge),
                                                                                    ("local", local))}
    db.commit()
    for name, token in tokens.items():
        answers[name] = post_scan(client, headers, token).get_json()
    assert {a["reason"] for a in answers.values()} == {"not_eligible"}
    assert answers["no_pledge"]["message"] == "不符合条件：未作留温承诺。"
    assert answers["local"]["message"] == "不符合条件：温州户籍。"
    db.rollback()
    assert db.scalar(sa.select(PickupPoint.stock).where(PickupPoint.id == point.id)) == 5


def test_staff_confirm_the_handout_at_their_own_point_only(client, db, vault, programme, keyring, login_as):
    point, other_point = make_pickup_point(db, stock=5), make_pickup_point(db, stock=5)
    staff, other_staff = make_pickup_staff(db, vault, point), make_pickup_staff(db, vault, other_point)
    worker = make_worker(db, vault, programme)
    scan = pickup(db, keyring, programme, staff, pass_token(worker, keyring, programme, NOW))
    other_headers = bearer(db, other_staff, clock.now())
    headers = bearer(db, staff, clock.now())
    db.commit()
    url = f"/api/v1/pickups/{scan.scan_id}/confirm"
    assert client.post(url, headers=other_headers).status_code == 404
    first = client.post(url, headers=headers)
    assert first.status_code == 200
    again = client.post(url, headers=headers).get_json()
    assert again["confirmed_at"] == first.get_json()["confirmed_at"]
    db.rollback()
    handout = db.scalar(sa.select(PackHandout))
    assert handout.confirmed_at is not None and handout.confirmed_by_user_id == staff.id
    from wzcheckin.core.models import AuditEntry

    assert db.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                     .where(AuditEntry.action == "welfare.confirm_handout")) == 2
    # With a session cookie the confirmation needs the CSRF header, like every cookie write.
    login_as(staff)
    assert client.post(url).get_json()["error"]["code"] == "csrf_failed"


def test_collections_say_who_collected_when_and_where(db, vault, programme, keyring):
    point = make_pickup_point(db, stock=5, district="瓯海区", name="娄桥")
    staff = make_pickup_staff(db, vault, point)
    workers = [make_worker(db, vault, programme, name=name) for name in ("张伟", "李秀英")]
    for offset, worker in enumerate(workers):
        hand_out_pack(db, point=point, worker=worker, staff=staff, scan_id=f"c-{worker.id}",
                      at=NOW + timedelta(minutes=offset))
    rows = collections(db, district="瓯海区")
    assert [(r.name, r.point_name, r.handed_out_at) for r in rows] == [
        ("李*英", "娄桥", NOW + timedelta(minutes=1)), ("张*", "娄桥", NOW)]
    assert collections(db, district="鹿城区") == []
    assert standing(db, make_worker(db, vault, programme), programme, NOW) == {"welfare_pack": "not_collected"}


def render_panel(app, db, worker, programme):
    from flask import render_template

    from wzcheckin.welfare.home import panel

    card = panel(db, worker, programme, NOW)
    with app.test_request_context("/me", headers={"Accept-Language": "zh-CN"}):
        return render_template(card.template, **card.context, worker=worker, programme=programme, now=NOW)


def test_the_home_card_says_where_to_collect_then_when_and_where_it_was(app, client, db, vault, programme, login_as):
    point = make_pickup_point(db, stock=5, name="永中街道党群服务中心")
    worker = make_worker(db, vault, programme)
    db.commit()
    card = render_panel(app, db, worker, programme)
    assert "防疫物资礼包" in card and "永中街道党群服务中心" in card and "未领取" in card
    login_as(worker.user)
    assert client.get("/api/v1/me").get_json()["welfare_pack"] == "not_collected"
    hand_out_pack(db, point=point, worker=worker, staff=make_pickup_staff(db, vault, point), scan_id="home-1", at=NOW)
    db.commit()
    card = render_panel(app, db, worker, programme)
    assert "已领取" in card and "2021" in card and "永中街道党群服务中心" in card
    assert client.get("/api/v1/me").get_json()["welfare_pack"] == "collected"
    no_pledge = make_worker(db, vault, programme, pledged=False)
    assert "留温承诺" in render_panel(app, db, no_pledge, programme)
