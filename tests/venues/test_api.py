"""The venues API of SPEC §6 over HTTP (the real clock: slots are put in the real future)."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.builders import make_user
from tests.venues.builders import make_booker, make_slot, make_venue
from wzcheckin.accounts.api_tokens import issue_api_token
from wzcheckin.codes.tokens import TokenKind
from wzcheckin.core.roles import Role
from wzcheckin.venues.models import Reservation, ReservationStatus, Slot, VenueKind


def tomorrow_at(hour: int) -> datetime:
    """An instant tomorrow (Wenzhou time) at the given hour."""
    from zoneinfo import ZoneInfo

    local = datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0).astimezone(UTC)


def bearer(db, user, language="en"):
    return {"Authorization": f"Bearer {issue_api_token(db, user, datetime.now(UTC))}", "Accept-Language": language}


def test_slots_of_a_venue_on_a_date_with_places_remaining(client, db, vault, programme):
    venue = make_venue(db, code="wz-library", name="温州市图书馆")
    first = make_slot(db, venue, tomorrow_at(9), capacity=2)
    make_slot(db, venue, tomorrow_at(10), capacity=3)
    make_slot(db, venue, tomorrow_at(9) + timedelta(days=1))  # another day
    worker = make_booker(db, vault, programme)
    headers = bearer(db, worker.user)
    db.commit()
    assert client.post("/api/v1/reservations", json={"slot_id": first.id}, headers=headers).status_code == 201
    day = tomorrow_at(9).astimezone(programme.tz).date().isoformat()
    body = client.get(f"/api/v1/venues/WZ-LIBRARY/slots?date={day}").get_json()  # public; codes are case-blind
    assert body["venue"]["code"] == "wz-library" and body["date"] == day
    assert [(s["capacity"], s["remaining"]) for s in body["slots"]] == [(2, 1), (3, 3)]
    assert body["slots"][0]["id"] == first.id
    assert datetime.fromisoformat(body["slots"][0]["starts_at"]) == tomorrow_at(9)
    assert body["slots"][0]["starts_at"].endswith("+08:00")
    assert client.get("/api/v1/venues/nowhere/slots").status_code == 404
    assert client.get("/api/v1/venues/wz-library/slots?date=08-02-2021").get_json()["error"]["code"] == "invalid_date"


def test_book_then_slot_full_then_cancel_only_by_the_owner(client, db, vault, programme, keyring):
    venue = make_venue(db)
    slot = make_slot(db, venue, tomorrow_at(10), capacity=1)
    owner, other = make_booker(db, vault, programme), make_booker(db, vault, programme)
    owner_headers, other_headers = bearer(db, owner.user), bearer(db, other.user, "zh-CN")
    db.commit()

    booked = client.post("/api/v1/reservations", json={"slot_id": slot.id}, headers=owner_headers)
    assert booked.status_code == 201
    body = booked.get_json()
    assert body["slot_id"] == slot.id and body["status"] == "booked" and len(body["id"]) == 16
    claims = keyring.verify(body["token"], tomorrow_at(10))
    assert claims.kind is TokenKind.RESERVATION and claims.subject == body["id"]

    full = client.post("/api/v1/reservations", json={"slot_id": slot.id}, headers=other_headers)
    assert full.status_code == 409
    assert full.get_json()["error"] == {"code": "slot_full", "message": "该时段已约满。"}
    again = client.post("/api/v1/reservations", json={"slot_id": slot.id}, headers=owner_headers)
    assert (again.status_code, again.get_json()["id"]) == (200, body["id"])  # a retry: the booking it made

    assert client.delete(f"/api/v1/reservations/{body['id']}", headers=other_headers).status_code == 404
    assert client.get(f"/api/v1/reservations/{body['id']}", headers=other_headers).status_code == 404
    cancelled = client.delete(f"/api/v1/reservations/{body['id']}", headers=owner_headers)
    assert (cancelled.status_code, cancelled.get_json()["status"]) == (200, "cancelled")
    twice = client.delete(f"/api/v1/reservations/{body['id']}", headers=owner_headers)
    assert (twice.status_code, twice.get_json()["error"]["code"]) == (409, "already_cancelled")
    assert client.post("/api/v1/reservations", json={"slot_id": slot.id}, headers=other_headers).status_code == 201
    db.rollback()
    assert db.scalar(sa.select(Slot.taken).where(Slot.id == slot.id)) == 1
    statuses = sorted(str(s) for s in db.scalars(sa.select(Reservation.status)))
    assert statuses == ["booked", "cancelled"]


def test_a_booking_s_answer_is_the_booking_as_read_back(client, db, vault, programme):
    """The 201 is built from the rows the booking was made from; it must say what reading the
    booking back says, code included (Ed25519 signs the same claims to the same token)."""
    venue = make_venue(db, kind=VenueKind.SCENIC_SPOT, code="jiangxinyu", address="江心屿")
    slot = make_slot(db, venue, tomorrow_at(14), capacity=2)
    worker = make_booker(db, vault, programme)
    headers = bearer(db, worker.user)
    db.commit()

    made = client.post("/api/v1/reservations", json={"slot_id": slot.id}, headers=headers)
    read = client.get(f"/api/v1/reservations/{made.get_json()['id']}", headers=headers)

    assert made.status_code == 201 and read.status_code == 200
    assert made.get_json() == read.get_json()
    assert made.get_json()["venue"] == {"code": "jiangxinyu", "name": venue.name, "kind": "scenic_spot",
                                        "district": venue.district, "address": "江心屿", "bookable": True,
                                        "discount_percent": programme.venues.discounts.get("jiangxinyu")}


def test_bad_requests_and_roles(client, db, vault, programme):
    venue = make_venue(db)
    slot = make_slot(db, venue, tomorrow_at(11))
    landmark_slot = make_slot(db, make_venue(db, kind=VenueKind.LANDMARK), tomorrow_at(11))
    worker = make_booker(db, vault, programme)
    unpledged = make_booker(db, vault, programme)
    unpledged.pledged_at = None
    official = make_user(db, vault, Role.OFFICIAL)
    headers = bearer(db, worker.user)
    unpledged_headers, official_headers = bearer(db, unpledged.user), bearer(db, official)
    db.commit()
    post = client.post
    assert post("/api/v1/reservations", json={"slot_id": slot.id}).status_code == 401
    assert post("/api/v1/reservations", json={"slot_id": slot.id}, headers=official_headers).status_code == 403
    for bad in ({"slot_id": "1"}, {"slot_id": True}, {}, {"slot_id": 0}, {"slot_id": slot.id, "x": 1}):
        assert post("/api/v1/reservations", json=bad, headers=headers).status_code == 422, bad
    missing = post("/api/v1/reservations", json={"slot_id": 999_999}, headers=headers)
    assert (missing.status_code, missing.get_json()["error"]["code"]) == (404, "slot_unknown")
    landmark = post("/api/v1/reservations", json={"slot_id": landmark_slot.id}, headers=headers)
    assert (landmark.status_code, landmark.get_json()["error"]["code"]) == (409, "not_bookable")
    refused = post("/api/v1/reservations", json={"slot_id": slot.id}, headers=unpledged_headers)
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (409, "not_eligible")
    db.rollback()
    assert db.scalar(sa.select(sa.func.count(Reservation.id))) == 0


def test_my_bookings_and_the_me_api(client, db, vault, programme):
    venue = make_venue(db, name="温州体育中心", kind=VenueKind.SPORTS)
    slot = make_slot(db, venue, tomorrow_at(14))
    worker = make_booker(db, vault, programme)
    headers = bearer(db, worker.user)
    db.commit()
    public_id = client.post("/api/v1/reservations", json={"slot_id": slot.id}, headers=headers).get_json()["id"]
    mine = client.get("/api/v1/reservations", headers=headers).get_json()
    assert [r["id"] for r in mine["upcoming"]] == [public_id] and mine["past"] == []
    assert mine["upcoming"][0]["venue"]["name"] == "温州体育中心" and mine["upcoming"][0]["token"]
    me = client.get("/api/v1/me", headers=headers).get_json()
    assert [r["id"] for r in me["reservations"]] == [public_id]
    assert me["venue_booking_suspended_until"] is None


def test_the_waiting_list_over_the_api(client, db, vault, programme):
    slot = make_slot(db, make_venue(db), tomorrow_at(15), capacity=1)
    holder, waiter = make_booker(db, vault, programme), make_booker(db, vault, programme)
    holder_headers, waiter_headers = bearer(db, holder.user), bearer(db, waiter.user)
    db.commit()
    held = client.post("/api/v1/reservations", json={"slot_id": slot.id}, headers=holder_headers).get_json()
    joined = client.post(f"/api/v1/slots/{slot.id}/waitlist", headers=waiter_headers)
    assert (joined.status_code, joined.get_json()["status"]) == (201, "waiting")
    assert client.delete(f"/api/v1/waitlist/{joined.get_json()['id']}", headers=holder_headers).status_code == 404
    client.delete(f"/api/v1/reservations/{held['id']}", headers=holder_headers)
    mine = client.get("/api/v1/reservations", headers=waiter_headers).get_json()
    assert [r["slot_id"] for r in mine["upcoming"]] == [slot.id]
    assert mine["upcoming"][0]["source"] == "waitlist"
    db.rollback()
    assert db.scalar(sa.select(Reservation.status).where(Reservation.worker_id == waiter.id)) \
        is ReservationStatus.BOOKED


def test_the_routes_are_in_the_openapi_document(client, db):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "get" in paths["/api/v1/venues/{code}/slots"]
    assert {"get", "post"} <= set(paths["/api/v1/reservations"])
    assert {"201", "409"} <= set(paths["/api/v1/reservations"]["post"]["responses"])
    assert "409" in paths["/api/v1/reservations/{public_id}"]["delete"]["responses"]


def test_a_full_slot_is_refused_without_the_sqlite_write_lock(client, db, vault, programme):
    """The crowd behind the last place reads, never writes: on SQLite its refusals take no write
    lock (BEGIN IMMEDIATE), so they never queue behind each other or behind the bookings."""
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's transaction statements")
    slot = make_slot(db, make_venue(db), tomorrow_at(10), capacity=1)
    first, late = make_booker(db, vault, programme), make_booker(db, vault, programme)
    first_headers, late_headers = bearer(db, first.user), bearer(db, late.user)
    db.commit()
    begins: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        if statement.startswith("BEGIN"):
            begins.append(statement)

    engine = db.get_bind()
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        booked = client.post("/api/v1/reservations", json={"slot_id": slot.id}, headers=first_headers)
        begins_of_booking = list(begins)
        begins.clear()
        full = client.post("/api/v1/reservations", json={"slot_id": slot.id}, headers=late_headers)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert booked.status_code == 201 and "BEGIN IMMEDIATE" in begins_of_booking
    assert full.status_code == 409 and full.get_json()["error"]["code"] == "slot_full"
    assert begins == ["BEGIN DEFERRED"]
