"""The venues pages through the Flask client: workers book and cancel, venue staff see their
day, officials manage venues, opening hours and slots (real clock: slots in the real future)."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from tests.builders import make_user
from tests.support.web import csrf_token_from
from tests.venues.builders import make_booker, make_slot, make_venue, make_venue_staff
from wzcheckin.core.models import AuditEntry
from wzcheckin.core.roles import Role
from wzcheckin.venues.models import (
    OpeningHours,
    Reservation,
    ReservationStatus,
    Slot,
    Venue,
    VenueKind,
    VenueNotice,
)

WENZHOU = ZoneInfo("Asia/Shanghai")


def local_day(days_ahead: int):
    return (datetime.now(WENZHOU) + timedelta(days=days_ahead)).date()


def day_at(days_ahead: int, hour: int) -> datetime:
    return datetime.combine(local_day(days_ahead), datetime.min.time(), tzinfo=WENZHOU).replace(hour=hour) \
        .astimezone(UTC)


def test_a_worker_browses_books_sees_the_code_and_cancels(client, db, vault, programme, login_as):
    library = make_venue(db, name="温州市图书馆", district="鹿城区")
    scenic = make_venue(db, name="江心屿景区", kind=VenueKind.SCENIC_SPOT, district="鹿城区")
    make_venue(db, name="五马街", kind=VenueKind.LANDMARK, district="鹿城区")
    make_venue(db, name="瓯海区图书馆", district="瓯海区")
    slot = make_slot(db, library, day_at(1, 10), capacity=5)
    make_slot(db, scenic, day_at(1, 10), capacity=1)
    worker = make_booker(db, vault, programme)
    db.commit()
    login_as(worker.user)

    page = client.get(f"/venues?date={local_day(1).isoformat()}&district=鹿城区")
    assert page.status_code == 200
    html = page.text
    assert "温州市图书馆" in html and "江心屿景区" in html and "瓯海区图书馆" not in html
    assert "剩 5 个" in html and "免费入场" in html
    # The shipped programme sets no scenic-spot discount: none is shown, and the spot is not free.
    scenic_card = html[html.index('id="venue-' + scenic.code + '"'):]
    scenic_card = scenic_card[:scenic_card.index("</article>")]
    assert "优惠" not in html and "免费入场" not in scenic_card
    assert "打卡点，无需预约。" in html  # the landmark has no slots and no booking button

    booked = client.post(f"/venues/slots/{slot.id}/book",
                         data={"csrf_token": csrf_token_from(html), "next": "/venues?district=鹿城区"})
    assert booked.status_code == 302
    public_id = booked.headers["Location"].rsplit("/", 1)[-1]
    code_page = client.get(f"/me/bookings/{public_id}").text
    assert "<svg" in code_page and 'id="reservation-token"' in code_page and "取消预约" in code_page
    # Cancelling takes a second, explicit button inside an "are you sure" step.
    step = code_page[code_page.index('<details class="confirm">'):]
    assert step.index("确定取消预约") < step.index("</details>")
    assert client.get(f"/venues?date={local_day(1).isoformat()}").text.count("已预约：出示预约码") == 1

    bookings = client.get("/me/bookings").text
    assert "温州市图书馆" in bookings and "出示预约码" in bookings
    home = client.get("/me").text
    assert "场馆预约" in home and "温州市图书馆" in home

    cancelled = client.post(f"/me/bookings/{public_id}/cancel", data={"csrf_token": csrf_token_from(code_page)})
    assert cancelled.status_code == 302
    db.rollback()
    assert db.scalar(sa.select(Reservation.status)) is ReservationStatus.CANCELLED
    assert db.scalar(sa.select(Slot.taken).where(Slot.id == slot.id)) == 0
    assert "暂无待使用的预约。" in client.get("/me/bookings").text


def test_a_refusal_is_explained_and_someone_elses_booking_is_not_found(client, db, vault, programme, login_as):
    slot_id = make_slot(db, make_venue(db), day_at(1, 11), capacity=1).id
    other = make_booker(db, vault, programme)
    worker = make_booker(db, vault, programme)
    db.commit()
    login_as(other.user)
    token = csrf_token_from(client.get("/venues").text)
    first = client.post(f"/venues/slots/{slot_id}/book", data={"csrf_token": token})
    others_id = first.headers["Location"].rsplit("/", 1)[-1]
    db.rollback()  # this session's snapshot predates the booking
    login_as(worker.user)
    html = client.get(f"/venues?date={local_day(1).isoformat()}").text
    assert "已约满" in html and "候补" in html
    assert client.get(f"/me/bookings/{others_id}").status_code == 404
    token = csrf_token_from(html)
    assert client.post(f"/me/bookings/{others_id}/cancel", data={"csrf_token": token}).status_code == 404
    response = client.post(f"/venues/slots/{slot_id}/book", data={"csrf_token": token}, follow_redirects=True)
    assert "该时段已约满。" in response.text
    waited = client.post(f"/venues/slots/{slot_id}/wait", data={"csrf_token": token}, follow_redirects=True)
    assert "已加入候补" in waited.text
    assert "候补" in client.get("/me/bookings").text
    # Without the CSRF token nothing happens.
    assert client.post(f"/venues/slots/{slot_id}/book", data={}).status_code == 400
    db.rollback()
    assert db.scalar(sa.select(sa.func.count(Reservation.id))) == 1


def test_an_ineligible_worker_is_told_why_and_cannot_press_book(client, db, vault, programme, login_as):
    make_slot(db, make_venue(db), day_at(1, 10))
    worker = make_booker(db, vault, programme)
    worker.pledged_at = None
    db.commit()
    login_as(worker.user)
    html = client.get(f"/venues?date={local_day(1).isoformat()}").text
    assert "作出留温过年承诺后即可预约。" in html and " disabled>" in html


def test_the_pages_speak_english_too(client, db, vault, programme, login_as):
    make_slot(db, make_venue(db, name="Wenzhou Library"), day_at(1, 10), capacity=7)
    worker = make_booker(db, vault, programme)
    db.commit()
    login_as(worker.user)
    client.get("/lang/en")
    html = client.get(f"/venues?date={local_day(1).isoformat()}").text
    assert "Book a venue" in html and "7 left" in html and "Free entry" in html
    assert "No bookings coming up." in client.get("/me/bookings").text


def test_venue_staff_see_their_day(client, db, vault, programme, login_as):
    venue = make_venue(db, name="温州体育中心", kind=VenueKind.SPORTS)
    today = datetime.now(UTC)
    slot = make_slot(db, venue, today + timedelta(hours=2), capacity=4)
    workers = [make_booker(db, vault, programme) for _ in range(3)]
    for worker in workers:
        db.add(Reservation(public_id=f"{worker.id:016x}", slot_id=slot.id, worker_id=worker.id,
                           status=ReservationStatus.BOOKED, created_at=today))
    slot.taken = 3
    staff = make_venue_staff(db, vault, venue)
    db.commit()
    login_as(staff)
    html = client.get(f"/venue/today?date={slot.starts_at.astimezone(WENZHOU).date().isoformat()}").text
    assert "温州体育中心" in html
    assert re.search(r'stat-value">3<small>/4</small>', html)
    assert "今日时段" in html  # the staff navigation
    empty = client.get(f"/venue/today?date={local_day(30).isoformat()}").text
    assert "当天没有开放时段。" in empty
    login_as(make_booker(db, vault, programme).user)
    assert client.get("/venue/today").status_code == 403


def test_an_official_manages_a_venue_hours_slots_and_closes_one(client, db, vault, programme, login_as):
    official = make_user(db, vault, Role.OFFICIAL)
    db.commit()
    login_as(official)
    page = client.get("/manage/venues").text
    assert "还没有场馆" in page
    token = csrf_token_from(page)
    bad = client.post("/manage/venues", data={"csrf_token": token, "code": "温图", "name": "", "kind": "library",
                                              "district": "鹿城区", "address": ""})
    assert bad.status_code == 200 and "2–40 位小写字母" in bad.text
    made = client.post("/manage/venues", data={"csrf_token": token, "code": "WZ-Lib", "name": "温州市图书馆",
                                               "kind": "library", "district": "鹿城区", "address": "市府路"})
    assert made.headers["Location"].endswith("/manage/venues/wz-lib")
    twice = client.post("/manage/venues", data={"csrf_token": token, "code": "wz-lib", "name": "别的馆",
                                                "kind": "sports", "district": "鹿城区", "address": ""})
    assert twice.status_code == 200 and "该编码的场馆已存在。" in twice.text
    renamed = client.post("/manage/venues/wz-lib", data={"csrf_token": token, "code": "ignored", "name": "温州市图书馆",
                                                         "kind": "library", "district": "鹿城区", "address": "府东路"})
    assert renamed.status_code == 302

    hours = client.post("/manage/venues/wz-lib/hours", data={
        "csrf_token": token, "weekdays": ["0", "1", "2", "3", "4", "5", "6"], "opens": "09:00", "closes": "12:00",
        "slot_minutes": "60", "capacity": "20"})
    assert hours.status_code == 302
    wrong = client.post("/manage/venues/wz-lib/hours", data={
        "csrf_token": token, "weekdays": ["0"], "opens": "09:00", "closes": "11:30", "slot_minutes": "60",
        "capacity": "20"})
    assert wrong.status_code == 422 and "不能整除为每段 60 分钟的时段" in wrong.text
    first, last = local_day(1), local_day(3)
    generated = client.post("/manage/venues/wz-lib/generate",
                            data={"csrf_token": token, "first": first.isoformat(), "last": last.isoformat()},
                            follow_redirects=True)
    assert "已生成 9 个时段；跳过 0 个" in generated.text
    again = client.post("/manage/venues/wz-lib/generate",
                        data={"csrf_token": token, "first": first.isoformat(), "last": last.isoformat()},
                        follow_redirects=True)
    assert "已生成 0 个时段；跳过 9 个" in again.text
    day = client.post("/manage/venues/wz-lib/slots", data={
        "csrf_token": token, "day": first.isoformat(), "start": "14:00", "end": "16:00", "length": "60",
        "capacity": "10"}, follow_redirects=True)
    assert "已创建 2 个时段。" in day.text
    clash = client.post("/manage/venues/wz-lib/slots", data={
        "csrf_token": token, "day": first.isoformat(), "start": "15:00", "end": "17:00", "length": "60",
        "capacity": "10"})
    assert clash.status_code == 422 and "与已有时段重叠" in clash.text

    db.rollback()
    assert db.scalar(sa.select(sa.func.count(OpeningHours.id))) == 1
    slot = db.scalar(sa.select(Slot).order_by(Slot.starts_at))
    worker = make_booker(db, vault, programme)
    from wzcheckin.venues.booking import book

    book(db, programme, worker, slot.id, datetime.now(UTC))
    db.commit()

    low = client.post(f"/manage/slots/{slot.id}/capacity", data={"csrf_token": token, "capacity": "0"})
    assert low.status_code == 422 and "名额为 1 至 10000 个" in low.text
    assert client.post(f"/manage/slots/{slot.id}/capacity",
                       data={"csrf_token": token, "capacity": "25"}).status_code == 302
    closed = client.post(f"/manage/slots/{slot.id}/close", data={"csrf_token": token, "notice": "停电检修"},
                         follow_redirects=True)
    assert "已取消 1 个预约" in closed.text and "停电检修" in closed.text
    db.rollback()
    assert db.scalar(sa.select(Slot.capacity).where(Slot.id == slot.id)) == 25
    assert db.scalar(sa.select(VenueNotice.text)) == "停电检修"
    actions = set(db.scalars(sa.select(AuditEntry.action)))
    assert db.scalar(sa.select(Venue.address).where(Venue.code == "wz-lib")) == "府东路"
    assert {"venues.create", "venues.update", "venues.hours_add", "venues.slots_generate", "venues.slots_create",
            "venues.slot_capacity", "venues.slot_close"} <= actions

    login_as(worker.user)
    assert "停电检修" in client.get("/me/bookings").text
    assert client.get("/manage/venues").status_code == 403


def test_a_waiting_list_booking_is_announced_on_my_bookings(client, db, vault, programme, login_as):
    from wzcheckin.venues.booking import book, cancel, join_waitlist

    slot = make_slot(db, make_venue(db, name="温州博物馆", kind=VenueKind.CULTURE), day_at(2, 9), capacity=1)
    holder, waiter = make_booker(db, vault, programme), make_booker(db, vault, programme)
    now = datetime.now(UTC)
    held = book(db, programme, holder, slot.id, now)
    join_waitlist(db, programme, waiter, slot.id, now)
    cancel(db, programme, held, now)
    db.commit()
    login_as(waiter.user)
    html = client.get("/me/bookings").text
    assert "有名额空出：已为您预约 温州博物馆" in html
    assert html.count("出示预约码") == 1


def test_a_scenic_spot_shows_a_discount_only_where_the_programme_file_sets_one(client, db, vault, programme_file,
                                                                              login_as):
    from wzcheckin.venues.queries import entry_discount_percent

    programme = programme_file(("[venues.discounts]\n", "[venues.discounts]\nJiangXinYu = 30\nwz-library = 50\n"))
    discounted = make_venue(db, code="jiangxinyu", name="江心屿景区", kind=VenueKind.SCENIC_SPOT)
    plain = make_venue(db, code="yandang", name="雁荡山风景名胜区", kind=VenueKind.SCENIC_SPOT)
    library = make_venue(db, code="wz-library", name="温州市图书馆")  # free already: a figure for it is ignored
    assert [entry_discount_percent(programme, v) for v in (discounted, plain, library)] == [30, None, None]
    slot = make_slot(db, discounted, day_at(1, 10), capacity=5)
    worker = make_booker(db, vault, programme)
    db.commit()
    login_as(worker.user)

    html = client.get(f"/venues?date={local_day(1).isoformat()}").text
    assert html.count("留温员工门票优惠") == 1 and "留温员工门票优惠 30%" in html
    api = {v["code"]: v["discount_percent"] for v in client.get("/api/v1/venues").get_json()["venues"]}
    assert api == {"jiangxinyu": 30, "yandang": None, "wz-library": None}
    booked = client.post(f"/venues/slots/{slot.id}/book", data={"csrf_token": csrf_token_from(html)})
    reservation = client.get(booked.headers["Location"]).text
    assert "留温员工门票优惠 30%" in reservation and "免费入场" not in reservation
