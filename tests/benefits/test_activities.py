"""Warmth activities (P5): a landmark poster QR a worker scans with their own phone, a photo
check-in for the New Year's Eve dinner, the gift each gives; self check-ins are not presence
evidence unless the programme file says so."""

import io
import re
from datetime import date, timedelta

import sqlalchemy as sa

from tests.benefits.builders import PNG_BYTES, make_activity, refusal
from tests.builders import make_worker
from tests.support.clock import at
from tests.support.web import csrf_token_from
from wzcheckin.benefits import activities as acts
from wzcheckin.benefits.models import ActivityCheckin, ActivityPhoto
from wzcheckin.codes.keys import load_keyring
from wzcheckin.codes.passes import current_pass
from wzcheckin.codes.tokens import TokenKind
from wzcheckin.programme import EvidenceSection
from wzcheckin.residence.evidence import window_statuses

NOW = at("2021-02-12 10:00")


def test_poster_checkin_once_with_the_code_or_its_link(db, vault, programme):
    activity = make_activity(db, programme)
    worker = make_worker(db, vault, programme)
    keyring = load_keyring(db, vault)
    token = acts.poster_token(activity, keyring, programme)
    assert keyring.verify(token, NOW).kind is TokenKind.POSTER
    checkin = acts.poster_checkin(db, programme, keyring, worker, f"https://wz.example/c/{token}", NOW)
    assert (checkin.activity_id, checkin.method, checkin.checked_in_at) == (activity.id, "poster", NOW)
    assert refusal(lambda: acts.poster_checkin(db, programme, keyring, worker, token.lower(), NOW)).code == \
        "already_checked_in"
    other = make_worker(db, vault, programme)
    acts.poster_checkin(db, programme, keyring, other, token, NOW)
    assert acts.checkin_counts(db, [activity.id]) == {activity.id: 2}


def test_poster_refusals(db, vault, programme):
    keyring = load_keyring(db, vault)
    worker = make_worker(db, vault, programme)
    activity = make_activity(db, programme, starts_on=date(2021, 2, 10), ends_on=date(2021, 2, 20))
    token = acts.poster_token(activity, keyring, programme)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    a_pass = current_pass(worker, keyring, programme, NOW).token
    for text, code in [("", "poster_invalid"), ("hello", "poster_invalid"), (forged, "poster_invalid"),
                       (a_pass, "poster_invalid")]:
        assert refusal(lambda t=text: acts.poster_checkin(db, programme, keyring, worker, t, NOW)).code == code
    assert refusal(lambda: acts.poster_checkin(db, programme, keyring, worker, token,
                                               at("2021-02-09 23:59"))).code == "activity_not_started"
    # The code expires when the last day ends: after that it reads as an ended activity.
    assert refusal(lambda: acts.poster_checkin(db, programme, keyring, worker, token,
                                               at("2021-02-21 00:00"))).code == "activity_ended"
    photo_only = make_activity(db, programme, kind="photo")
    photo_token = acts.poster_token(photo_only, keyring, programme)
    assert refusal(lambda: acts.poster_checkin(db, programme, keyring, worker, photo_token, NOW)).code == \
        "wrong_activity_kind"
    assert db.scalar(sa.select(sa.func.count()).select_from(ActivityCheckin)) == 0


def test_photo_checkin_validates_the_image_by_its_content(db, vault, programme):
    activity = make_activity(db, programme, kind="photo")
    worker = make_worker(db, vault, programme)
    html = b"<html><script>alert(1)</script></html>"
    for data, code, status in [(b"", "photo_required", 422), (html, "photo_type", 415),
                               (b"GIF89a" + b"\0" * 20, "photo_type", 415),
                               (b"\xff\xd8\xff" + b"\0" * acts.PHOTO_MAX_BYTES, "photo_too_large", 413)]:
        refused = refusal(lambda d=data: acts.photo_checkin(db, programme, activity, worker, d, NOW))
        assert (refused.code, refused.status) == (code, status)
    assert db.scalar(sa.select(sa.func.count()).select_from(ActivityPhoto)) == 0
    checkin = acts.photo_checkin(db, programme, activity, worker, PNG_BYTES, NOW)
    assert checkin.photo.content_type == "image/png" and checkin.photo.size == len(PNG_BYTES)
    assert acts.detect_image_type(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp"
    assert refusal(lambda: acts.photo_checkin(db, programme, activity, worker, PNG_BYTES, NOW)).code == \
        "already_checked_in"
    assert db.scalar(sa.select(sa.func.count()).select_from(ActivityPhoto)) == 1  # the refused one stored nothing


def test_self_checkins_are_evidence_only_where_the_programme_says_so(db, vault, programme):
    activity = make_activity(db, programme)
    worker = make_worker(db, vault, programme)
    acts.poster_checkin(db, programme, load_keyring(db, vault), worker,
                        acts.poster_token(activity, load_keyring(db, vault), programme), NOW)
    later = at("2021-02-20 00:00")
    assert [s.satisfied for s in window_statuses(db, programme, [worker.id], later)[worker.id]] == [False, False, False]
    counting = programme.model_copy(update={"evidence": EvidenceSection(self_checkins_count=True)})
    assert [s.satisfied for s in window_statuses(db, counting, [worker.id], later)[worker.id]] == [False, True, False]


def test_the_poster_page_prints_a_qr_link_that_checks_a_worker_in(client, db, vault, programme, login_as, official,
                                                                  audit_entries):
    from wzcheckin import clock

    today = programme.local_date(clock.now())
    activity = make_activity(db, programme, starts_on=today - timedelta(days=1), ends_on=today + timedelta(days=1),
                             gift="非遗红包", now=clock.now())  # a poster's code may live 180 days at most
    worker = make_worker(db, vault, programme)
    db.commit()
    login_as(official)
    poster = client.get(f"/admin/benefits/activities/{activity.public_id}/poster")
    assert poster.status_code == 200 and "<svg" in poster.text and "非遗红包" in poster.text
    link = re.search(r"http://[^\s<\"]+/c/[A-Z2-7]{138}", poster.text).group(0)
    assert audit_entries("activity.poster")[0].target_id == activity.public_id
    path = link.split("localhost", 1)[-1]

    login_as(worker.user)
    landing = client.get(path)
    assert landing.status_code == 200 and activity.title in landing.text and "在这里打卡" in landing.text
    done = client.post(path, data={"csrf_token": csrf_token_from(landing.text)})
    assert done.status_code == 302
    assert "非遗红包" in client.get("/activities").text
    again = client.post("/me/checkin", data={"csrf_token": csrf_token_from(landing.text), "code": link})
    assert again.status_code == 409 and "您已在本活动打过卡" in again.text
    assert client.get("/c/" + "A" * 138).status_code == 404
    api = client.post("/api/v1/me/checkins", json={"token": link},
                      headers={"X-CSRFToken": csrf_token_from(landing.text)})
    assert api.status_code == 409 and api.get_json()["error"]["code"] == "already_checked_in"


def test_photos_upload_and_are_served_back_safely_to_their_owner_only(client, db, vault, programme, login_as,
                                                                       official, audit_entries):
    from wzcheckin import clock

    today = programme.local_date(clock.now())
    activity = make_activity(db, programme, kind="photo", starts_on=today, ends_on=today)
    owner, stranger = make_worker(db, vault, programme), make_worker(db, vault, programme)
    db.commit()
    login_as(owner.user)
    page = client.get(f"/activities/{activity.public_id}")
    token = csrf_token_from(page.text)
    sneaky = client.post(f"/activities/{activity.public_id}/photo",
                         data={"csrf_token": token, "photo": (io.BytesIO(b"<svg onload=alert(1)>"), "dinner.png",
                                                              "image/png")},
                         content_type="multipart/form-data")
    assert sneaky.status_code == 415 and "JPEG" in sneaky.text
    uploaded = client.post(f"/activities/{activity.public_id}/photo",
                           data={"csrf_token": token, "photo": (io.BytesIO(PNG_BYTES), "dinner.html", "text/html")},
                           content_type="multipart/form-data")
    assert uploaded.status_code == 302
    db.rollback()
    photo = db.scalar(sa.select(ActivityPhoto))
    served = client.get(f"/me/photos/{photo.public_id}")
    assert served.status_code == 200 and served.data == PNG_BYTES
    assert served.headers["Content-Type"] == "image/png" and served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]
    login_as(stranger.user)
    assert client.get(f"/me/photos/{photo.public_id}").status_code == 404
    login_as(official)
    assert client.get(f"/me/photos/{photo.public_id}").status_code == 200
    assert audit_entries("activity.photo_view")[0].actor_user_id == official.id


def test_officials_create_activities_with_each_field_checked(client, db, vault, programme, login_as, official,
                                                             audit_entries):
    db.commit()
    login_as(official)
    form = client.get("/admin/benefits/activities/new")
    token = csrf_token_from(form.text)
    bad = client.post("/admin/benefits/activities/new", data={"csrf_token": token, "kind": "landmark",
                                                               "gift_activity": "", "starts_on": "2021-02-20",
                                                               "ends_on": "2021-02-10"})
    assert bad.status_code == 400 and "结束日期早于开始日期" in bad.text and "此项必填" in bad.text
    ok = client.post("/admin/benefits/activities/new", data={
        "csrf_token": token, "title": "打卡五马街", "kind": "landmark", "gift_activity": "用卡有礼", "gift": "春联",
        "place": "五马街", "starts_on": "2021-02-01", "ends_on": "2021-02-28"})
    assert ok.status_code == 302
    assert audit_entries("activity.create")[0].details == {"kind": "landmark"}
    assert "打卡五马街" in client.get("/admin/benefits/activities").text
