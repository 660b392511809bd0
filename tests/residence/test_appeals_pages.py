"""Appeals and corrections through the API and the pages: a worker files through the API (and the
contract's 409 codes), a worker and an enterprise file on their pages, an official decides and
runs the correction on theirs, and the re-tiered amount shows beside the application."""

from __future__ import annotations

import io
from datetime import date

import sqlalchemy as sa

from tests.builders import make_unique_id_number, make_user, make_worker
from tests.residence.builders import IN_WINDOW, add_scan, bulk_workers, make_site
from tests.residence.test_api import bearer
from tests.residence.test_appeals import PNG, fever_refused_worker
from tests.support.clock import at
from tests.support.web import csrf_token_from
from wzcheckin.accounts.models import Worker
from wzcheckin.core.roles import Role
from wzcheckin.residence.models import Appeal, AppealPhoto, Correction, Departure, SubsidyApplication


def test_a_worker_appeals_through_the_api(db, vault, programme, client, cutoff, set_clock):
    site = make_site(db, vault)
    worker = fever_refused_worker(db, vault, programme, site)
    confirmed = db.get(Worker, bulk_workers(db, vault, site, 1)[0])
    headers = bearer(db, worker.user)
    db.commit()
    set_clock("2021-03-01 00:05")
    closed = client.post("/api/v1/me/appeals", json={"reason": "发烧"}, headers=headers)
    assert closed.status_code == 409 and closed.get_json()["error"]["code"] == "appeal_window_closed"
    cutoff()
    set_clock("2021-03-02 10:00")
    assert client.post("/api/v1/me/appeals", json={"reason": "发烧", "x": 1}, headers=headers).status_code == 422
    made = client.post("/api/v1/me/appeals", json={"reason": "2月13日发烧被拒"}, headers=headers)
    assert made.status_code == 201
    body = made.get_json()
    assert body["status"] == "open" and isinstance(body["id"], int)
    again = client.post("/api/v1/me/appeals", json={"reason": "再次"}, headers=headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_open"
    nothing = client.post("/api/v1/me/appeals", json={"reason": "?"}, headers=bearer(db, confirmed.user))
    assert nothing.status_code == 409 and nothing.get_json()["error"]["code"] == "nothing_to_appeal"
    listed = client.get("/api/v1/me/appeals", headers=headers).get_json()
    assert [(a["id"], a["status"], a["appealed_reason"]) for a in listed] == [(body["id"], "open", "missing_evidence")]
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/me/appeals" in spec["paths"] or "/me/appeals" in spec["paths"]


def post_form(client, url, data, page_url=None, **kwargs):
    token = csrf_token_from(client.get(page_url or url).text)
    return client.post(url, data={"csrf_token": token, **data}, **kwargs)


def test_appeals_and_a_correction_through_the_pages(app, db, vault, programme, client, login_as, cutoff, set_clock):
    site = make_site(db, vault, name="瓯江鞋业")
    bulk_workers(db, vault, site, 47)
    worker = fever_refused_worker(db, vault, programme, site)
    missed = bulk_workers(db, vault, site, 1, windows=(0, 2))
    leaver_id_number = make_unique_id_number()
    leaver = make_worker(db, vault, programme, enterprise=site.enterprise, id_number=leaver_id_number).id
    for when in IN_WINDOW:
        add_scan(db, leaver, site.gate, site.staff, at(when))
    admin = make_user(db, vault, Role.ENTERPRISE_ADMIN, checkpoint=site.gate)
    official = make_user(db, vault, Role.OFFICIAL)
    db.commit()
    cutoff()
    set_clock("2021-03-02 10:00")

    # The worker: told on their home page, files with a photo on the appeals page.
    login_as(worker.user)
    assert "/me/appeals" in client.get("/me").text
    filed = post_form(client, "/me/appeals", {"reason": "2月13日在厂门口发烧被拒, 附门诊病历",
                                              "photo": (io.BytesIO(PNG), "note.png")},
                      content_type="multipart/form-data")
    assert filed.status_code == 302
    page = client.get("/me/appeals").text
    assert "门诊病历" in page and "申诉处理中" in page
    bad = post_form(client, "/me/appeals", {"reason": "x"})
    assert bad.status_code == 422 and "已有一项申诉" in bad.text

    # The enterprise: appeals for a worker of its roster; the form lists only the uncounted.
    login_as(admin)
    form = client.get("/enterprise/appeals")
    assert form.status_code == 200 and f'value="{missed[0]}"' in form.text and f'value="{leaver}"' not in form.text
    assert post_form(client, "/enterprise/appeals", {"workers": [str(missed[0])], "reason": "隔离在宿舍"}).status_code == 302
    assert client.get("/enterprise/retention").status_code == 200

    # The official: decides both, downloads the photo, runs the correction.
    login_as(official)
    listing = client.get("/official/residence/appeals")
    assert listing.status_code == 200 and "门诊病历" in listing.text
    appeal_ids = list(db.scalars(sa.select(Appeal.id).order_by(Appeal.id)))
    db.rollback()
    photo = client.get(f"/official/residence/appeals/{appeal_ids[0]}/photo")
    assert photo.status_code == 200 and photo.mimetype == "image/png" and photo.data == PNG
    assert photo.headers["X-Content-Type-Options"] == "nosniff"
    for appeal_id in appeal_ids:
        decided = post_form(client, f"/official/residence/appeals/{appeal_id}", {"reason": "属实", "accept": "1"},
                            page_url="/official/residence/appeals")
        assert decided.status_code == 302
    run = post_form(client, "/official/residence/corrections", {"action": "correct"},
                    page_url="/official/residence/corrections")
    assert run.status_code == 302
    page = client.get("/official/residence/corrections").text
    assert 'id="correction-1"' in page and "48 → 50" in page and "¥50,000" in page

    # The enterprise applies with the corrected figures; a departure found later re-tiers it,
    # shown beside the application.
    login_as(admin)
    assert post_form(client, "/enterprise/retention/apply", {}, page_url="/enterprise/retention").status_code == 302
    db.rollback()
    assert db.scalar(sa.select(SubsidyApplication.amount_yuan)) == 50000
    db.rollback()
    login_as(official)
    found = post_form(client, "/official/residence/corrections",
                      {"action": "departure", "departure-id_number": leaver_id_number,
                       "departure-departed_on": "2021-02-20", "departure-note": "社保记录"},
                      page_url="/official/residence/corrections")
    assert found.status_code == 302
    db.rollback()
    assert db.scalar(sa.select(Departure.departed_on)) == date(2021, 2, 20)
    db.rollback()
    assert post_form(client, "/official/residence/corrections", {"action": "correct"},
                     page_url="/official/residence/corrections").status_code == 302
    db.rollback()
    assert db.scalar(sa.select(sa.func.max(Correction.version))) == 2
    db.rollback()
    login_as(make_user(db, vault, Role.HR_OFFICIAL))  # subsidy applications are 人社局's
    applications = client.get("/official/residence/applications").text
    assert "更正 2" in applications and "¥0" in applications
    login_as(admin)
    assert 'id="application-retiered"' in client.get("/enterprise/retention").text
    login_as(worker.user)
    assert client.get("/api/v1/me").get_json()["confirmed"] is True
    assert db.scalar(sa.select(sa.func.count()).select_from(AppealPhoto)) == 1
