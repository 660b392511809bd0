"""The services directory (P10): officials edit it; anyone browses it by district and kind."""

from datetime import date

import sqlalchemy as sa

from tests.builders import make_worker
from tests.support.web import csrf_token_from
from wzcheckin.benefits import directory
from wzcheckin.benefits.models import ServiceListing

HEADER = ",".join(directory.SERVICE_COLUMNS)


def test_officials_add_edit_and_withdraw_listings(client, db, vault, programme, login_as, official, audit_entries):
    db.commit()
    login_as(official)
    form = client.get("/admin/benefits/services/new")
    token = csrf_token_from(form.text)
    bad = client.post("/admin/benefits/services/new", data={"csrf_token": token, "kind": "canteen", "name": "",
                                                             "opens_on": "2021-02-20", "closes_on": "2021-02-10"})
    assert bad.status_code == 400 and "此项必填" in bad.text and "结束日期早于开始日期" in bad.text
    ok = client.post("/admin/benefits/services/new", data={
        "csrf_token": token, "kind": "childcare", "name": "小候鸟托管班", "district": "瑞安市", "address": "塘下镇",
        "hours": "08:00–17:30", "contact": "0577-65000003", "opens_on": "2021-02-08", "closes_on": "2021-02-20"})
    assert ok.status_code == 302
    db.rollback()
    listing = db.scalar(sa.select(ServiceListing))
    assert audit_entries("service.create")[0].target_id == str(listing.id)
    assert client.post(f"/admin/benefits/services/{listing.id}/withdraw",
                       data={"csrf_token": token}).status_code == 302
    assert audit_entries("service.withdraw")
    assert "小候鸟托管班" not in client.get("/services").text


def test_anyone_browses_by_district_kind_and_day(client, db, vault, programme):
    now = programme.cutoff
    for kind, name, district, opens, closes in [
        ("canteen", "娄桥食堂", "瓯海区", None, None),
        ("market", "娄桥菜场", "瓯海区", date(2021, 2, 1), date(2021, 2, 10)),
        ("bus", "B12 路不停运", "龙湾区", None, None),
    ]:
        directory.save_service(db, directory.clean_service(directory.ServiceInput(
            kind=kind, name=name, district=district, opens_on=opens, closes_on=closes)), now)
    db.commit()
    everything = client.get("/services")  # no log-in needed
    assert everything.status_code == 200 and all(n in everything.text for n in ("娄桥食堂", "娄桥菜场", "B12 路不停运"))
    ouhai = client.get("/services?district=瓯海区&kind=canteen").text
    assert "娄桥食堂" in ouhai and "娄桥菜场" not in ouhai and "B12" not in ouhai
    assert [s.name for s in directory.browse_services(db, on=date(2021, 2, 12))] == ["娄桥食堂", "B12 路不停运"]
    api = client.get("/api/v1/services?district=龙湾区").get_json()["services"]
    assert [s["name"] for s in api] == ["B12 路不停运"]


def test_import_services_is_all_or_nothing_and_reimport_updates(app, runner, db, tmp_path):
    path = tmp_path / "services.csv"
    path.write_text(f"{HEADER}\nmarket,娄桥菜场,瓯海区,中汇路,05:30–18:00,,2021-02-08,2021-02-20,\n"
                    f"shop,便利店,瓯海区,,,,,,\n", encoding="utf-8")
    first = runner.invoke(args=["import", "services", str(path)])
    assert first.exit_code == 0 and '"created": 2' in first.output
    path.write_text(f"{HEADER}\nmarket,娄桥菜场,瓯海区,中汇路,06:00–18:00,,,,\nspa,桑拿,瓯海区,,,,,,\n"
                    f"bus,,龙湾区,,,,,,\n", encoding="utf-8")
    bad = runner.invoke(args=["import", "services", str(path)])
    assert bad.exit_code == 1
    assert "line 3: kind: choice_unknown" in bad.output and "line 4: name: required" in bad.output
    db.rollback()
    assert db.scalar(sa.select(ServiceListing.hours).where(ServiceListing.name == "娄桥菜场")) == "05:30–18:00"


def test_only_officials_edit(client, db, vault, programme, login_as):
    worker = make_worker(db, vault, programme)
    db.commit()
    login_as(worker.user)
    assert client.get("/services").status_code == 200
    assert client.get("/admin/benefits/services").status_code == 403
    assert client.get("/admin/benefits/services/new").status_code == 403
