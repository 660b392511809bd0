"""In real headless Chromium on a 360×740 phone, in Chinese: a worker finds a library slot,
books it and sees a booking code that decodes from a screenshot and verifies with the
published public key."""

import base64
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from playwright.sync_api import expect

from tests.builders import make_phone
from tests.support.browser import log_in
from tests.support.config import ARTIFACTS
from tests.support.qr import decode_qr
from tests.venues.builders import make_booker, make_slot, make_venue
from wzcheckin.codes import tokens
from wzcheckin.core import context
from wzcheckin.extensions import db
from wzcheckin.venues.models import Reservation, Slot, VenueKind

pytestmark = [pytest.mark.browser, pytest.mark.server]
WENZHOU = ZoneInfo("Asia/Shanghai")


def test_a_worker_books_a_library_slot_on_a_phone_and_sees_a_scannable_code(
        server_database, gunicorn_server, server_app, phone_page):
    tomorrow = (datetime.now(WENZHOU) + timedelta(days=1)).date()
    ten = datetime.combine(tomorrow, datetime.min.time(), tzinfo=WENZHOU).replace(hour=10).astimezone(UTC)
    library = make_venue(db.session, code="wz-library", name="温州市图书馆", address="鹿城区市府路")
    make_venue(db.session, code="jiangxinyu", name="江心屿景区", kind=VenueKind.SCENIC_SPOT)
    slot = make_slot(db.session, library, ten, capacity=40)
    phone = make_phone()
    make_booker(db.session, context.vault(), context.programme(), phone=phone, name="李娜")
    db.session.commit()
    slot_id = slot.id
    server = gunicorn_server()
    page = phone_page

    log_in(page, server, phone)
    page.wait_for_url("**/me")
    page.get_by_role("link", name="场馆预约").first.click()
    page.wait_for_url("**/venues")
    page.get_by_label("日期").select_option(tomorrow.isoformat())
    page.get_by_role("button", name="查看").click()
    page.wait_for_url(f"**/venues?date={tomorrow.isoformat()}*")
    card = page.locator("#venue-wz-library")
    expect(card.get_by_text("剩 40 个")).to_be_visible()
    expect(page.get_by_text("留温员工门票优惠")).to_have_count(0)  # the shipped programme sets no discount
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "venues-browse-360.png"), full_page=True)

    card.get_by_role("button", name="预约").click()
    page.wait_for_url("**/me/bookings/*")
    public_id = page.url.rsplit("/", 1)[-1]
    expect(page.get_by_role("heading", name="温州市图书馆")).to_be_visible()
    expect(page.get_by_text("预约成功。入场时请出示此码。")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    shot = page.locator("#reservation-code").screenshot(path=str(ARTIFACTS / "reservation-code-360.png"))
    page.screenshot(path=str(ARTIFACTS / "reservation-page-360.png"), full_page=True)

    decoded = decode_qr(shot)
    assert len(decoded) == tokens.TOKEN_LENGTH
    keys = requests.get(server.base_url + "/api/v1/keys", timeout=10).json()["keys"]
    public_keys = {k["kid"]: Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(k["public_key"] + "=="))
                   for k in keys}
    claims = tokens.verify(decoded, public_keys, ten)
    assert claims.kind is tokens.TokenKind.RESERVATION and claims.subject == public_id
    assert claims.expires_at == ten + timedelta(hours=1, minutes=30)  # slot end + late grace

    db.session.rollback()
    assert db.session.scalar(sa.select(Reservation.public_id)) == public_id
    assert db.session.scalar(sa.select(Slot.taken).where(Slot.id == slot_id)) == 1

    # Cancelling asks first: the first tap only opens the "are you sure" step.
    page.locator("details.confirm summary").click()
    assert page.url.endswith(public_id)
    page.get_by_role("button", name="确定取消预约").click()
    page.wait_for_url("**/me/bookings")
    expect(page.get_by_text("预约已取消").first).to_be_visible()
