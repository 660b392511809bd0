"""Redeeming a reservation code at the venue, through the scanning room's ``record_scan`` on a
simulated clock, and once over HTTP through ``POST /api/v1/scans``."""

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
import sqlalchemy as sa

from tests.support.clock import at
from tests.venues.builders import make_booker, make_slot, make_venue, make_venue_staff
from wzcheckin.accounts.api_tokens import issue_api_token
from wzcheckin.codes.passes import current_pass
from wzcheckin.scanning.messages import reason_message
from wzcheckin.scanning.models import Scan, ScanResult
from wzcheckin.scanning.services import ScanInput, record_scan
from wzcheckin.venues import booking
from wzcheckin.venues.jobs import mark_no_shows
from wzcheckin.venues.models import Reservation, ReservationStatus

_scan_ids = count(1)


@pytest.fixture
def scene(db, vault, programme, keyring):
    """Two venues with their staff; one worker booked 10:00–11:00 at the first."""
    library = make_venue(db, name="温州市图书馆")
    gym = make_venue(db, name="温州体育中心")
    slot = make_slot(db, library, at("2021-02-08 10:00"), minutes=60)
    worker = make_booker(db, vault, programme, name="王芳")
    reservation = booking.book(db, programme, worker, slot.id, at("2021-02-08 08:00"))
    code = booking.reservation_code(keyring, programme, reservation)

    class Scene:
        pass

    s = Scene()
    s.library, s.gym, s.slot, s.worker, s.reservation, s.token = library, gym, slot, worker, reservation, code.token
    s.library_staff, s.gym_staff = make_venue_staff(db, vault, library), make_venue_staff(db, vault, gym)
    return s


def scan(db, programme, keyring, staff, token, when, *, now=None):
    return record_scan(db, staff=staff, checkpoint=staff.checkpoint,
                       data=ScanInput(token=token, scan_id=f"venue-scan-{next(_scan_ids):06d}", scanned_at=when),
                       keyring=keyring, programme=programme, now=now or when).scan


def test_a_code_scanned_inside_its_slot_is_accepted_once_and_is_evidence(db, programme, keyring, scene):
    first = scan(db, programme, keyring, scene.library_staff, scene.token, at("2021-02-08 09:45"))  # early grace
    assert (first.result, first.reason, first.is_evidence) == (ScanResult.ACCEPTED, "redeemed", True)
    assert first.worker_id == scene.worker.id
    assert first.subject["name"] == "王*" and first.subject["venue"] == "温州市图书馆"
    db.refresh(scene.reservation)
    assert scene.reservation.status is ReservationStatus.REDEEMED
    assert scene.reservation.redeemed_at == at("2021-02-08 09:45")
    again = scan(db, programme, keyring, scene.library_staff, scene.token, at("2021-02-08 09:46"))
    assert (again.result, again.reason, again.is_evidence) == (ScanResult.REJECTED, "already_used", False)


@pytest.mark.parametrize("when", ["2021-02-08 09:44", "2021-02-08 11:29"])
def test_the_grace_periods_bound_the_slot(db, programme, keyring, scene, when):
    result = scan(db, programme, keyring, scene.library_staff, scene.token, at(when))
    expected = ("rejected", "outside_slot") if when.endswith("09:44") else ("accepted", "redeemed")
    assert (str(result.result), result.reason) == expected
    if result.reason == "outside_slot":
        assert reason_message(result.reason, result.details) == "Outside the booked time: 2021-02-08 10:00–11:00."


def test_after_the_late_grace_the_code_has_expired(db, programme, keyring, scene):
    result = scan(db, programme, keyring, scene.library_staff, scene.token, at("2021-02-08 11:30"))
    assert (result.result, result.reason) == (ScanResult.REJECTED, "expired")


def test_another_venues_staff_get_wrong_venue_naming_the_right_one(db, programme, keyring, scene):
    result = scan(db, programme, keyring, scene.gym_staff, scene.token, at("2021-02-08 10:05"))
    assert (result.result, result.reason, result.worker_id) == (ScanResult.REJECTED, "wrong_venue", scene.worker.id)
    assert "温州市图书馆" in reason_message(result.reason, result.details)
    db.refresh(scene.reservation)
    assert scene.reservation.status is ReservationStatus.BOOKED  # still usable at the right place


def test_a_cancelled_booking_is_refused(db, programme, keyring, scene):
    booking.cancel(db, programme, scene.reservation, at("2021-02-08 09:00"))
    result = scan(db, programme, keyring, scene.library_staff, scene.token, at("2021-02-08 10:05"))
    assert (result.result, result.reason) == (ScanResult.REJECTED, "cancelled")


def test_a_worker_pass_is_the_wrong_kind_of_code_at_a_venue(db, programme, keyring, scene):
    issued = current_pass(scene.worker, keyring, programme, at("2021-02-08 10:00"))
    result = scan(db, programme, keyring, scene.library_staff, issued.token, at("2021-02-08 10:01"))
    assert (result.result, result.reason) == (ScanResult.REJECTED, "wrong_kind")


def test_a_scan_queued_offline_inside_the_slot_still_counts_after_the_no_show_job(db, programme, keyring, scene):
    assert mark_no_shows(db, programme, at("2021-02-08 12:00"))["no_shows"] == 1
    result = scan(db, programme, keyring, scene.library_staff, scene.token, at("2021-02-08 10:30"),
                  now=at("2021-02-08 13:00"))
    assert (result.result, result.reason, result.is_evidence) == (ScanResult.ACCEPTED, "redeemed", True)
    db.refresh(scene.reservation)
    assert scene.reservation.status is ReservationStatus.REDEEMED


def test_redemption_over_http_through_the_scan_api(client, db, vault, programme, keyring):
    """The real clock: a slot running now, booked an hour before it began."""
    now = datetime.now(UTC).replace(microsecond=0)
    venue = make_venue(db, name="瓯海区图书馆")
    slot = make_slot(db, venue, now - timedelta(minutes=10), minutes=60)
    worker = make_booker(db, vault, programme)
    reservation = booking.book(db, programme, worker, slot.id, now - timedelta(hours=1))
    token = booking.reservation_code(keyring, programme, reservation).token
    staff_token = issue_api_token(db, make_venue_staff(db, vault, venue), now)
    db.commit()
    headers = {"Authorization": f"Bearer {staff_token}", "Accept-Language": "en"}
    first = client.post("/api/v1/scans", json={"token": token, "scan_id": "http-venue-0001"}, headers=headers)
    assert first.status_code == 200
    assert first.get_json() | {"scanned_at": None} == {
        "scan_id": "http-venue-0001", "result": "accepted", "reason": "redeemed",
        "message": "Reservation valid: welcome.", "subject": first.get_json()["subject"], "scanned_at": None,
        "replayed": False, "final": True}
    assert first.get_json()["subject"]["venue"] == "瓯海区图书馆"
    replay = client.post("/api/v1/scans", json={"token": token, "scan_id": "http-venue-0001"}, headers=headers)
    assert replay.get_json()["replayed"] is True and replay.get_json()["result"] == "accepted"
    second = client.post("/api/v1/scans", json={"token": token, "scan_id": "http-venue-0002"}, headers=headers)
    assert (second.get_json()["result"], second.get_json()["reason"]) == ("rejected", "already_used")
    assert second.get_json()["message"] == "This booking has already been used."
    db.rollback()
    assert db.scalar(sa.select(Reservation.status)) is ReservationStatus.REDEEMED
    evidence = db.scalars(sa.select(Scan).where(Scan.is_evidence)).all()
    assert [(s.scan_id, s.worker_id) for s in evidence] == [("http-venue-0001", worker.id)]
